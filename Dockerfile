# syntax=docker/dockerfile:1
#
# incidentflow: one static binary (worker, serve, dev, CLI) on distroless.
#   docker build -t incidentflow .
#   docker run --rm -v "$PWD/config:/cfg:ro" incidentflow config validate /cfg/example.yaml
# docker-compose.yml runs it as `worker` and `serve` against a Temporal cluster.
# The binary embeds tzdata (time/tzdata) for schedule time zones, and the SQLite
# driver used by `dev` is pure Go, so CGO stays off.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Dependencies first, so editing the code does not re-download modules.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/incidentflow ./cmd/incidentflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/incidentflow /usr/local/bin/incidentflow
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/incidentflow"]
CMD ["serve"]
