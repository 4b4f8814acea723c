# syntax=docker/dockerfile:1
# The tool image of Grove's CI components (ci-components/), which runs every job they have and
# every job Grove generates: a static `grove`, Python 3 with uv for the per-instance Tutor venvs,
# git for themes, kubectl for the cluster, terraform for the Terraform jobs, and the Docker CLI
# with buildx for Tutor's image builds (the daemon is a service of those jobs: docker:dind).
#
#   docker build -t registry.gitlab.com/opencraft/grove:0.1.0 .
#
# Its programs are listed in image/programs, which the last step runs, one by one: an image that
# lacks one is never built, and cli/tests/image.rs checks that every job's programs are listed.
# Every download is pinned and checked: kubectl against its published SHA-256, terraform and the
# Docker CLI by the digests of their official images (a pull checks every layer against them).
# x86_64 only: grove is built for x86_64-unknown-linux-musl, and the binaries are the amd64 ones.

ARG RUST_VERSION=1.95
ARG PYTHON_VERSION=3.12
ARG UV_VERSION=0.13.9

# A statically linked grove. musl-tools gives ring (TLS for the S3 env store and GitLab's API) its
# C compiler.
FROM rust:${RUST_VERSION}-slim AS build
# Debian's current packages of the release the image is built on: apt checks them against the
# release's signed lists.
# hadolint ignore=DL3008
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
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSLo /kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl" \
 && echo "$(curl -fsSL "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl.sha256")  /kubectl" \
    | sha256sum --check --strict \
 && chmod 0755 /kubectl

# terraform 1.10.5 (static), from HashiCorp's image, pinned by digest.
FROM hashicorp/terraform:1.10.5@sha256:679ac5e095bf550bc726742cd12efa6050f0913080df479fdabfeb202953af28 AS terraform

# The Docker CLI 27.5.1 and its buildx plugin (static), from Docker's image, pinned by digest.
FROM docker:27.5.1-cli@sha256:851f91d241214e7c6db86513b270d58776379aacc5eb9c4a87e5b47115e3065c AS docker-cli

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# The runtime: Debian's slim Python (manylinux wheels of Tutor plugins install as they are).
FROM python:${PYTHON_VERSION}-slim-bookworm
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /uvx /usr/local/bin/
COPY --from=kubectl /kubectl /usr/local/bin/kubectl
COPY --from=terraform /bin/terraform /usr/local/bin/terraform
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx
COPY --from=build /usr/local/bin/grove /usr/local/bin/grove
# grove builds venvs with uv (found on PATH) from this image's Python, never a downloaded one;
# copies instead of hard links, since GitLab caches and uv's cache are on other file systems.
# Tutor's image builds reach the Docker daemon of the jobs' docker:dind service (alias docker,
# without TLS on the job's own network); a CI/CD variable overrides it, for a runner that mounts
# a daemon's socket instead.
ENV UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    PYTHONDONTWRITEBYTECODE=1 \
    DOCKER_HOST=tcp://docker:2375
# Every program of image/programs runs, or the build fails.
COPY image/programs /usr/local/share/grove/programs
RUN sed -e '/^#/d' -e '/^$/d' -e 's/^[^ ]* *//' /usr/local/share/grove/programs \
    | xargs -L 1 env
# GitLab runs job scripts with the image's shell: no entrypoint.
CMD ["grove", "--help"]
