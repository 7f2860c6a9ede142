# Test infrastructure shipped in the distribution: the runners, the
# integration tests with their helper, and the fuzz targets with their
# seed corpora. The unit tests are listed by each area's own fragment.
EXTRA_DIST += \
	tests/ci.sh \
	tests/run-all.sh \
	tests/package.json \
	tests/package-lock.json \
	tests/integration \
	tests/oidc \
	tests/console \
	tests/conformance \
	tests/fuzz \
	contrib/nginx \
	docs \
	.ci/run \
	contrib/deps.sh \
	contrib/demo.sh \
	contrib/Dockerfile \
	contrib/idgate.service \
	README.md \
	.clang-format
