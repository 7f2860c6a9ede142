#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "oidc/limit.h"

/* Keys tracked at once; a key whose windows have both passed frees its slot. */
#define SLOTS 4096

typedef struct counter {
    int64_t window;                 /* index of the current window */
    unsigned current;
    unsigned previous;
} counter;

typedef struct slot {
    char key[40];
    counter count;
} slot;

struct oidc_limit {
    long window;
    unsigned per_key;
    unsigned total;
    int allow_untracked;
    counter all;
    slot slots[SLOTS];
};

oidc_limit *oidc_limit_new(long window, unsigned per_key, unsigned total)
{
    oidc_limit *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->window = window > 0 ? window : 1;
    l->per_key = per_key;
    l->total = total;
    return l;
}

void oidc_limit_free(oidc_limit *l)
{
    free(l);
}

/* Moves the counter to window `w` and returns its count. */
static unsigned advance(counter *c, int64_t w)
{
    if (w == c->window + 1) {
        c->previous = c->current;
        c->current = 0;
    } else if (w > c->window + 1) {
        c->previous = 0;
        c->current = 0;
    }
    c->window = w;
    return c->current + c->previous;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Finds the key's slot, or claims a free or stale one. NULL when all are in use. */
static slot *find_slot(oidc_limit *l, const char *key, int64_t w)
{
    slot *free_slot = NULL;
    uint32_t start = hash(key) % SLOTS;
    for (uint32_t i = 0; i < SLOTS; i++) {
        slot *s = &l->slots[(start + i) % SLOTS];
        if (s->key[0] != '\0' && strcmp(s->key, key) == 0)
            return s;
        int stale = s->key[0] == '\0' || s->count.window + 1 < w;
        if (stale && free_slot == NULL)
            free_slot = s;
        if (s->key[0] == '\0')
            break;
    }
    if (free_slot != NULL) {
        memset(free_slot, 0, sizeof *free_slot);
        strncpy(free_slot->key, key, sizeof free_slot->key - 1);
        free_slot->count.window = w;
    }
    return free_slot;
}

void oidc_limit_allow_untracked(oidc_limit *l)
{
    l->allow_untracked = 1;
}

int oidc_limit_take(oidc_limit *l, const char *key, int64_t now)
{
    int64_t w = now / l->window;
    if (advance(&l->all, w) >= l->total)
        return 0;
    slot *s = find_slot(l, key, w);
    if (s == NULL) {
        if (l->allow_untracked)
            l->all.current++;
        return l->allow_untracked;
    }
    if (advance(&s->count, w) >= l->per_key)
        return 0;
    s->count.current++;
    l->all.current++;
    return 1;
}
