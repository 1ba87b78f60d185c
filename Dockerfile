# syntax=docker/dockerfile:1
# Harmonia as an image: `docker build -t harmonia .`, then
#   docker run --rm -p 3000:3000 -v /path/to/data:/data:ro -v harmonia-store:/store harmonia
# builds the store from the data on first start and serves it (docker-compose.yml does the same).
# Any other command: docker run --rm -v harmonia-store:/store harmonia stats --store /store/harmonia
# The store is the folder harmonia on the volume, not the volume itself: the demo writes its records
# manifest beside the store folder, and / is not writable by the unprivileged user.

# Build stage: the full Debian image has the compilers a native module falls back to without a prebuild.
FROM node:20-bookworm AS build
WORKDIR /app
# One `npm ci` with the sources in: it runs our prepare (build, build:web), and an optional package whose
# install script cannot finish (tfjs-node without a reachable libtensorflow) is left out, as on any
# machine; `npm ci --ignore-scripts` then `npm rebuild` would fail on it instead. The npm cache is kept
# between builds. Then only the runtime dependencies stay.
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: Node and what the CLI reads next to its installation, nothing of the build.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HARMONIA_DATA=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/ontologies ./ontologies
COPY --from=build /app/shapes ./shapes
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/mappings ./mappings
COPY --from=build /app/examples ./examples
# The store lives on a volume owned by the unprivileged user (a new named volume takes this ownership);
# the data is mounted at /data, read-only.
RUN mkdir -p /store /data && chown node:node /store
VOLUME ["/store"]
USER node
EXPOSE 3000
ENTRYPOINT ["node", "/app/bin/harmonia"]
CMD ["demo", "--data", "/data", "--store", "/store/harmonia", "--host", "0.0.0.0", "--port", "3000"]
