# syntax=docker/dockerfile:1
# Build: compile TypeScript and the pages (Vite) with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY web ./web
RUN npm run build

# Run: production dependencies and the compiled code only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# The role is the argument: all (default), api, gateway, worker or cron. Production
# needs PMQ_API_KEYS, PMQ_TOKEN_SECRET (shared by every container) and REDIS_URL.
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["all"]
# Every role serves /healthz, /readyz and /metrics on PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
