# syntax=docker/dockerfile:1
# Parley: build the bundles, then a slim runtime image that runs them as a non-root user.
# The same image runs the bundled SMSC simulator (`node dist/simulator.js`).

FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts only where package.json approves them (allowScripts): esbuild here.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild esbuild
COPY tsconfig.json ./
COPY src ./src
COPY simulator ./simulator
RUN npm run -s build && npm run -s build:simulator

FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PARLEY_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY docker/carriers.yaml ./docker/carriers.yaml
# The embedded database (PGlite, when DATABASE_URL is unset) keeps its files in /data.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--v8-pool-size=1", "--no-allocation-site-pretenuring", "--max-semi-space-size=32", "--max-old-space-size=2048", "--heap-growing-percent=300", "dist/main.js"]
