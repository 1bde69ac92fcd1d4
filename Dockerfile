# syntax=docker/dockerfile:1
# Passbox operator image.
#   docker build -t passbox-operator:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/passbox-operator:<tag> .

# Build on the builder's own architecture and cross-publish for the target one: the SDK image and
# Grpc.Tools' protoc then run natively even for a multi-platform build.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1

# Restore first, from the project file and build settings only, so that the package layer is
# reused while only source files change.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY operator/Passbox.Operator.csproj operator/
RUN dotnet restore operator/Passbox.Operator.csproj -a "$TARGETARCH"

COPY operator/ operator/
RUN dotnet publish operator/Passbox.Operator.csproj -c Release -a "$TARGETARCH" --no-restore \
      -p:UseAppHost=false -o /app

# Chiseled Ubuntu: no shell, no package manager, only what the .NET runtime needs; runs as the
# non-root "app" user (UID 1654) by default.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./

# The GC settings (workstation, non-concurrent, small gen0 budget) travel in passbox-operator.runtimeconfig.json.
# Kestrel serves /healthz, /readyz and /metrics on this port.
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER $APP_UID

ENTRYPOINT ["dotnet", "passbox-operator.dll"]
