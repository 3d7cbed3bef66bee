# syntax=docker/dockerfile:1.7
#
# HealthGraph container image.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t healthgraph:dev .
#
# Stage 1 compiles a static binary; stage 2 is distroless (no shell, no package
# manager) running as the unprivileged "nonroot" user (uid 65532). The binary is
# its own health check, so the final image needs nothing else.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 \
    GOOS=linux \
    GOFLAGS=-trimpath

# Module download in its own layer: it is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

# The Playground's assets are committed under server/playground/assets and
# embedded by go build: no step here fetches them.
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/healthgraph ./cmd/healthgraph

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="healthgraph" \
      org.opencontainers.image.description="HealthGraph GraphQL API" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/healthgraph /healthgraph
USER nonroot:nonroot
# All interfaces, whatever HG_ENV says: development alone would listen on
# the container's loopback, out of reach.
ENV HG_HTTP_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/healthgraph", "healthcheck"]
ENTRYPOINT ["/healthgraph"]
CMD ["serve"]
