# The service orchestrator image: the service manager starts one container
# of it per service instance; hurtle's cloud controller can start it too,
# with only DESIGN_URI and DC_NAME set (see service-orchestrator/README.md).
# Build it with `npm run image`, which stages bundle/ first; BASE_IMAGE is
# any image with Node.js 20 on its PATH.
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="mesos-service-orchestrator" \
      org.opencontainers.image.description="Service orchestrator of one Mesos cluster on CloudStack"
WORKDIR /app
COPY bundle/ /app/
ENV NODE_ENV=production
USER 65534:65534
# Where it serves when neither SO_LISTEN nor PORT says otherwise.
EXPOSE 8080
# Asks the orchestrator's /healthz where its environment says it listens.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/service-orchestrator/healthcheck.js"]
ENTRYPOINT ["node", "/app/dist/service-orchestrator/main.js"]
