# Production image for docker-compose.yml: one image for web, workers and beat.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY requirements.lock Makefile ./
# torch first and pinned; on a GPU host install the torch build that matches its CUDA instead
RUN python -m pip install --no-cache-dir torch==2.13.0 \
    && python -m pip install --no-cache-dir -r requirements.lock \
    && python -m pip install --no-cache-dir --no-deps petals==2.2.0.post1
COPY . .
ENV PYTHONUNBUFFERED=1 VAR_DIR=/app/var
EXPOSE 8000
