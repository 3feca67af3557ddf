# szarc: two commands on a fresh Debian 12 machine.
#   make demo   installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs the whole suite (ctest),
#               then the unit tests again under AddressSanitizer + UBSan
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_CLANG ?= build-clang
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     ?= ON

DEBS = cmake make gcc clang pkg-config glslang-tools spirv-tools libvulkan-dev \
       mesa-vulkan-drivers vulkan-validationlayers libarchive-dev libssl-dev \
       libjansson-dev libzstd-dev libpcre2-dev libmd-dev \
       gzip bzip2 xz-utils zstd bc brotli python3 time scdoc groff-base

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test test-asan check-clang demo bench clean

all: build

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "szarc: installing missing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

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

demo: build
	bash tools/bench/demo.sh $(BUILD)

bench: build
	bash tools/bench/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_CLANG)
