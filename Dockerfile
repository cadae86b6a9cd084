# syntax=docker/dockerfile:1
# One image for every domain service (DESIGN.md §2, §4): Node.js 24 runs the TypeScript sources
# directly (type stripping), so there is no build step. The service is chosen at run time by the
# SERVICE environment variable (docker-compose and the Helm chart set it), or baked in with
# `docker build --build-arg SERVICE=grupos .`; arguments go to main.ts (`migrate` applies the
# migrations and exits):
#   docker run -e SERVICE=grupos -e DATABASE_URL=... consorcio/app            # serve
#   docker run -e SERVICE=grupos -e DATABASE_URL=... consorcio/app migrate    # migrate

# Only the npm manifests, so the dependency layer is rebuilt only when they change.
FROM node:24-slim AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json -delete \
 && find . -depth -type d -empty -delete

FROM node:24-slim AS build
WORKDIR /app
ENV NODE_ENV=production
COPY --from=manifests /src/ ./
# Exact install from the lock file, without devDependencies (the `node` runtime pin, buf,
# vitest…): the image's own Node.js 24 runs the code.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .

FROM node:24-slim
ARG SERVICE=""
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build --chown=root:root /app /app
USER node
ENTRYPOINT ["/bin/sh", "-c", "exec node \"services/${SERVICE:?set SERVICE to the service to run}/src/main.ts\" \"$@\"", "--"]
