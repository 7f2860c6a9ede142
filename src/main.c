/* Entry point; replaced by the service's real dispatcher. */
int main(void)
{
    return 0;
}
