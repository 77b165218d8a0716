"""The evaluation service's HTTP API: thin blueprints over the use cases."""


def blueprints() -> list:
    from .certificates import blp as certificates
    from .notices import blp as notices
    from .public import public
    from .results import blp as results
    from .scores import blp as scores
    from .surveys import blp as surveys

    return [results, certificates, surveys, scores, notices, public]
