# syntax=docker/dockerfile:1
# The tool image of Grove's CI components (ci-components/): a static `grove`, Python 3 with uv
# for the per-instance Tutor venvs, git for themes, kubectl for the cluster.
#
#   docker build -t registry.gitlab.com/opencraft/grove:0.1.0 .
#
# x86_64 only: grove is built for x86_64-unknown-linux-musl and kubectl is the amd64 binary.
# Image builds (`grove buildimage`) also need a Docker daemon, such as a docker:dind service.

ARG RUST_VERSION=1.95
ARG PYTHON_VERSION=3.12
ARG UV_VERSION=0.13.9

# A statically linked grove. musl-tools gives ring (TLS for the S3 env store) its C compiler.
FROM rust:${RUST_VERSION}-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# .dockerignore lets in only the workspace's manifests, crates and templates.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package grove-cli --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/grove /usr/local/bin/grove \
 && /usr/local/bin/grove --version

# kubectl, checked against its published SHA-256.
FROM debian:bookworm-slim AS kubectl
ARG KUBECTL_VERSION=v1.33.1
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSLo /kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl" \
 && echo "$(curl -fsSL "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl.sha256")  /kubectl" \
    | sha256sum --check --strict \
 && chmod 0755 /kubectl

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# The runtime: Debian's slim Python (manylinux wheels of Tutor plugins install as they are).
FROM python:${PYTHON_VERSION}-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /uvx /usr/local/bin/
COPY --from=kubectl /kubectl /usr/local/bin/kubectl
COPY --from=build /usr/local/bin/grove /usr/local/bin/grove
# grove builds venvs with uv (found on PATH) from this image's Python, never a downloaded one;
# copies instead of hard links, since GitLab caches and uv's cache are on other file systems.
ENV UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    PYTHONDONTWRITEBYTECODE=1
RUN grove --version && uv --version && python3 --version && git --version \
 && kubectl version --client
# GitLab runs job scripts with the image's shell: no entrypoint.
CMD ["grove", "--help"]
