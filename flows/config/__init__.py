"""Configuration of a leadsync deployment: one YAML file, validated with pydantic."""

from flows.config.loader import LoadedConfig, load_config, parse_config
from flows.config.models import AppConfig

__all__ = ["AppConfig", "LoadedConfig", "load_config", "parse_config"]
