# Tandem in a container: multi-stage build, runs as a non-root user, health check on /healthz.
#   docker build -t tandem .
#   docker run -p 8080:8080 -v tandem-data:/data tandem            (SQLite in the volume)
# With PostgreSQL: see compose.yaml. Settings are environment variables (README, "Configuration").
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Tandem/Tandem.csproj src/Tandem/
RUN dotnet restore src/Tandem/Tandem.csproj
COPY src/ src/
RUN dotnet publish src/Tandem/Tandem.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# The application folder is read-only for the app; its state lives in /data (the working directory).
COPY --from=build /app /app
RUN mkdir -p /data && chown "$APP_UID" /data
USER $APP_UID
WORKDIR /data
ENV ASPNETCORE_URLS=http://+:8080 \
    ConnectionStrings__Tandem="Data Source=/data/tandem.db" \
    Tandem__Imports__Folder=/data/imports
EXPOSE 8080
VOLUME /data
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && head -1 <&3 | grep -q " 200 "'
ENTRYPOINT ["dotnet", "/app/Tandem.dll"]
