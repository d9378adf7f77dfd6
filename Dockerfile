# One image for every Consulta process (web, projector, migrate, scheduler, worker, media); coturn uses its own.
# Build: docker build -t consulta .   Secrets come from the environment at run time, never from here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 consulta \
    && useradd --system --uid 10001 --gid consulta --home-dir /home/consulta --create-home consulta

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY aggregates ./aggregates
COPY projections ./projections
COPY http ./http
COPY media ./media
COPY workers ./workers
RUN pip install . && rm -rf /app/build

USER consulta
WORKDIR /home/consulta
EXPOSE 8000 8443
CMD ["consulta", "serve", "--host", "0.0.0.0", "--port", "8000"]
