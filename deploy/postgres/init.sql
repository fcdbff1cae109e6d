-- Runs once, on an empty data volume: Pillar's own role and database (Temporal's are made by temporal-sql-tool).
CREATE ROLE pillar LOGIN PASSWORD 'pillar';
CREATE DATABASE pillar OWNER pillar;
