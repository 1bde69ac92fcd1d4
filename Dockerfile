# syntax=docker/dockerfile:1
# Passbox operator image: the native AOT binary (the default) or, with --build-arg VARIANT=jit, the JIT build.
#   docker build -t passbox-operator:dev .
#   docker build --build-arg VARIANT=jit -t passbox-operator:dev-jit .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/passbox-operator:<tag> .
ARG VARIANT=aot

# ---- Native AOT (default): the same publish as make publish-aot --------------------------------------------------
# Native AOT compiles for the machine it runs on, so this stage runs on the target platform (emulated in a
# multi-platform build: slower, but no cross toolchain). clang links the binary.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build-aot
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

# Restore first, from the project file and build settings only, so that the package layer is reused while only
# source files change.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY operator/Passbox.Operator.csproj operator/
RUN dotnet restore operator/Passbox.Operator.csproj -a "$TARGETARCH" -p:PublishAot=true

# Trim/AOT analysis warnings are errors in this publish (operator/Passbox.Operator.csproj).
COPY operator/ operator/
RUN dotnet publish operator/Passbox.Operator.csproj -c Release -a "$TARGETARCH" --no-restore \
      -p:PublishAot=true -o /app

# ---- JIT (--build-arg VARIANT=jit) --------------------------------------------------------------------------------
# Build on the builder's own architecture and cross-publish for the target one: the SDK image and Grpc.Tools' protoc
# then run natively even for a multi-platform build.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build-jit
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY operator/Passbox.Operator.csproj operator/
RUN dotnet restore operator/Passbox.Operator.csproj -a "$TARGETARCH"
COPY operator/ operator/
RUN dotnet publish operator/Passbox.Operator.csproj -c Release -a "$TARGETARCH" --no-restore \
      -p:UseAppHost=false -o /app

# ---- Runtime images -------------------------------------------------------------------------------------------------
# Chiseled Ubuntu: no shell, no package manager; runs as the non-root "app" user (UID 1654) by default. The native
# binary needs only runtime-deps (libc, OpenSSL; globalization is invariant). Its GC settings (workstation,
# non-concurrent, small gen0 budget) are compiled in; the JIT build reads them from passbox-operator.runtimeconfig.json.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS runtime-aot
WORKDIR /app
# Only the binary: the .dbg symbols stay in the build stage.
COPY --from=build-aot /app/passbox-operator ./
ENTRYPOINT ["/app/passbox-operator"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime-jit
WORKDIR /app
COPY --from=build-jit /app ./
ENTRYPOINT ["dotnet", "passbox-operator.dll"]

FROM runtime-${VARIANT} AS runtime
# Kestrel serves /healthz, /readyz and /metrics on this port.
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER $APP_UID
