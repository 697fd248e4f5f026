"""Merge config files over the defaults: the organization's file, then the repository's, key by key.

Reading the files is the caller's job (`bot.github.config_files` reads them through GitHub, the
command line from disk); this module only turns their texts into one `RepoConfig` and its problems.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from bot.config.schema import CONFIG_PATH, DEFAULT_CONFIG, ConfigLayer, ConfigProblem, LoadedConfig, RepoConfig
from bot.config.validation import SECTIONS, parse_config_layer


def _merged_settings(layers: Sequence[ConfigLayer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer.settings)
    return merged


def _without(layer: ConfigLayer, keys: Iterable[str]) -> ConfigLayer:
    dropped = set(keys)
    return ConfigLayer(
        settings={key: value for key, value in layer.settings.items() if key not in dropped},
        positions={key: value for key, value in layer.positions.items() if key not in dropped},
        source=layer.source,
    )


def _consistent_layers(layers: Sequence[ConfigLayer]) -> tuple[list[ConfigLayer], list[ConfigProblem]]:
    """Drop, latest file first, settings that make min_runs larger than baseline_runs."""
    run_keys = ("comparison.min_runs", "comparison.baseline_runs")
    active = list(layers)
    problems: list[ConfigProblem] = []
    while True:
        merged = _merged_settings(active)
        min_runs = merged.get(run_keys[0], DEFAULT_CONFIG.comparison.min_runs)
        baseline_runs = merged.get(run_keys[1], DEFAULT_CONFIG.comparison.baseline_runs)
        if min_runs <= baseline_runs:
            return active, problems
        index = max(i for i, layer in enumerate(active) if any(key in layer.settings for key in run_keys))
        layer = active[index]
        key = next(key for key in run_keys if key in layer.settings)
        line, column = layer.positions[key]
        message = (
            f"comparison.min_runs ({min_runs}) must not be larger than comparison.baseline_runs "
            f"({baseline_runs}), or no comparison could ever have enough history"
        )
        problems.append(ConfigProblem(line, column, key, message, layer.source))
        active[index] = _without(layer, run_keys)


def build_config(layers: Sequence[ConfigLayer]) -> tuple[RepoConfig, list[ConfigProblem]]:
    """Apply layers over `DEFAULT_CONFIG`, later ones overriding earlier ones key by key (lists replace)."""
    active, problems = _consistent_layers(layers)
    merged = _merged_settings(active)
    sections = {
        name: dataclasses.replace(
            getattr(DEFAULT_CONFIG, name),
            **{key.partition(".")[2]: value for key, value in merged.items() if key.partition(".")[0] == name},
        )
        for name in SECTIONS
    }
    shared_actions = merged.get("shared_actions", DEFAULT_CONFIG.shared_actions)
    return RepoConfig(shared_actions=shared_actions, **sections), problems


def check_config_text(text: str) -> tuple[RepoConfig, list[ConfigProblem]]:
    """Validate one config file; its valid parts over the defaults, and all its problems."""
    layer, problems = parse_config_layer(text)
    config, consistency_problems = build_config([layer])
    return config, sorted(problems + consistency_problems, key=lambda problem: (problem.line, problem.column))


def config_source(owner: str, repo: str, ref: str | None = None) -> str:
    """Name a config file the way problems and `LoadedConfig.sources` do."""
    return f"{owner}/{repo}:{CONFIG_PATH}" + (f"@{ref}" if ref else "")


def merge_config_files(files: Iterable[tuple[str, str | ConfigProblem]]) -> LoadedConfig:
    """The configuration from (source, text) pairs, earliest first; a file that could not be read is a problem."""
    layers: list[ConfigLayer] = []
    problems: list[ConfigProblem] = []
    sources: list[str] = []
    for source, text in files:
        sources.append(source)
        if isinstance(text, ConfigProblem):
            problems.append(dataclasses.replace(text, source=source))
            continue
        layer, layer_problems = parse_config_layer(text, source)
        layers.append(layer)
        problems.extend(layer_problems)
    config, merge_problems = build_config(layers)
    return LoadedConfig(config=config, problems=problems + merge_problems, sources=sources)
