# szarc: two commands on a fresh Debian 12 machine.
#   make demo   installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs the whole suite (ctest),
#               then the unit tests again under AddressSanitizer + UBSan
#   make deb    the Debian packages in build-deb/, checked by lintian
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_CLANG ?= build-clang
BUILD_DEB  ?= build-deb
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     ?= ON

DEBS = cmake make gcc clang pkg-config glslang-tools spirv-tools libvulkan-dev \
       mesa-vulkan-drivers vulkan-validationlayers libarchive-dev libssl-dev \
       libjansson-dev libzstd-dev liblzma-dev libpcre2-dev libmd-dev libmicrohttpd-dev \
       libsqlite3-dev \
       gzip bzip2 xz-utils zstd bc brotli python3 python3-jsonschema time scdoc groff-base \
       slurm-wlm munge
# (slurm-wlm, munge: tests/cli_slurm.sh starts a one-node cluster of its own)

# what `make deb` needs beyond DEBS
DEBS_DEB = debhelper dpkg-dev lintian

# what the dashboard's browser test needs (tests/cli_serve_dashboard.sh;
# skipped without it, required in CI: .ci/run)
DEBS_BROWSER = chromium

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps deps-deb deps-browser build test test-asan check-clang demo bench deb clean

all: build

# $(call install_missing,PACKAGES): apt-get install those not installed
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "szarc: installing missing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEBS))

deps-deb:
	$(call install_missing,$(DEBS_DEB))

deps-browser:
	$(call install_missing,$(DEBS_BROWSER))

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSZARC_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSZARC_SANITIZE=ON \
	  -DSZARC_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS) -L unit

# The libraries and the command built with clang too, warnings as errors
# (the fuzz build uses clang: a construct only gcc knows must fail here first).
check-clang: deps
	cmake -S . -B $(BUILD_CLANG) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release \
	  -DSZARC_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD_CLANG) -j $(JOBS) --target szarc

# The Debian packages szarc and libszarc-dev (debian/), built from a copy of
# the tree in $(BUILD_DEB)/src so that dpkg-buildpackage writes the .deb files
# into $(BUILD_DEB), not beside the tree; tests neither built nor run
# (nocheck: `make test` runs them); then lintian, which must find no error.
deb: deps deps-deb
	rm -rf $(BUILD_DEB) && mkdir -p $(BUILD_DEB)/src
	tar --exclude='./build*' --exclude=./.git -cf - . | tar -C $(BUILD_DEB)/src -xf -
	cd $(BUILD_DEB)/src && DEB_BUILD_OPTIONS="nocheck parallel=$(JOBS)" \
	  dpkg-buildpackage -us -uc -b
	lintian --fail-on error --tag-display-limit 0 $(BUILD_DEB)/*.deb
	@ls -l $(BUILD_DEB)/*.deb

demo: build
	bash tools/bench/demo.sh $(BUILD)

bench: build
	bash tools/bench/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_CLANG) $(BUILD_DEB)
