FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml alembic.ini ./
COPY app ./app
RUN pip install --no-cache-dir -e .
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/app/var
EXPOSE 8000
CMD ["derivlab", "serve"]
