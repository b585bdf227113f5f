# syntax=docker/dockerfile:1
#
# tfe-operator container image.
#   docker build -t tfe-operator:dev .
# Node 22 is an LTS line (supported until April 2027). The base image is pinned by digest
# (the tag moves with every Node and Debian patch release): every build starts from the same
# bytes. To move to a newer one, see docs/image.md ("Updating the base image").
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

# ---- build: compile TypeScript to dist/ (dev dependencies live only here; no
#      install scripts run: tsc needs none) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
RUN npm run build

# ---- deps: production dependencies only, no install scripts ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Everything is owned by root and read-only for the runtime user: the operator
# cannot modify its own code (the Deployment also mounts the root fs read-only).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin/ ./bin/
COPY crds/ ./crds/
# uid/gid 1000 is the `node` user of the official image; numeric so that the
# kubelet can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080
# Node flags: keep the resident memory near what is live. Each reconcile makes short-lived
# garbage (AWS SDK answers); with V8's defaults the old generation grows to several times
# the live data before a full GC (RSS 280-340 MiB measured for 20 clusters re-observed every
# 2 s), with these it stays about 1.2 times the live data (docs/benchmarks.md). The old
# generation is capped well under the Deployment's 512Mi limit, so a runaway heap ends in a
# clear "heap out of memory" exit rather than an OOM kill. test/operator-process.ts reads this
# line, so the tests and benchmarks run the operator with the same flags.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=20", "--max-old-space-size=384", "bin/tfe-operator.js"]
CMD ["run", "--leader-elect"]
