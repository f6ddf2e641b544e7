# The usual multi-stage build, for machines that can pull images:
#   docker build --build-arg BIN=compute-mock -t understudy/compute-mock .
# (BIN is identity-mock, compute-mock, lb-mock or understudy.)
FROM rust:1-bookworm AS build
ARG BIN
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --bin ${BIN}

FROM scratch
ARG BIN
COPY --from=build /src/target/x86_64-unknown-linux-gnu/release/${BIN} /mock
COPY docker/stack.toml /etc/understudy/stack.toml
USER 65534:65534
ENTRYPOINT ["/mock"]
