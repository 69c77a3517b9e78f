# netconsole-hub collector image. It runs the README's set-up command, `npm install && npm start`:
# `npm ci` (npm install from the lock file; its "prepare" script compiles the TypeScript, the
# dashboard and the batched UDP reader) in a build stage that has python3/make/g++ for the native
# modules (better-sqlite3, raw-socket, native/udp-batch.c), then `node bin/netconsole-hub serve`
# (what `npm start` runs) in a slim stage.
#
#   docker build -t netconsole-hub .
#   docker run -d -p 6666:6666/udp -p 127.0.0.1:8080:8080 -v nch-data:/data netconsole-hub
#
# See docs/deployment.md.

FROM node:20-bookworm AS build
WORKDIR /app
COPY . .
# The README's install step: runs "prepare" (tsc + dashboard bundle) for the root package.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf test-output

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NCH_HTTP=0.0.0.0:8080 \
    NCH_DB=/data/netconsole.db
WORKDIR /app
COPY --from=build /app /app
# The database lives on a volume owned by the unprivileged `node` user of the official image.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 6666/udp 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.NCH_HTTP||'').split(':').pop()||'8080';fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# `npm start` is `node bin/netconsole-hub serve`; started directly so node gets SIGTERM itself
# and flushes buffered records. The sender uses the same image: `docker run … netconsole-hub send …`.
ENTRYPOINT ["node", "bin/netconsole-hub"]
CMD ["serve"]
