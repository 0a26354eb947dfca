"""Riemannian baselines on raw windows: covariances, (re-centring), tangent space, linear model.

The field's reference pipeline for EEG (Barachant et al. 2012; pyRiemann): each raw window
(n_channels, n_times), e.g. from :class:`~neuroaffect.features.RawWindows`, becomes a shrunk
covariance matrix, mapped to the tangent space at the training mean and classified by a balanced
logistic regression. With ``align=True`` each subject's covariances are first re-centred at the
identity (:class:`~neuroaffect.estimators.alignment.SubjectRecentering`), the standard remedy for
between-subject shifts.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import validate_params

from .alignment import SubjectRecentering

__all__ = ["riemann_logistic_regression", "riemann_ridge"]


def _covariance_steps(align: bool, estimator: str):
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    steps = [Covariances(estimator=estimator)]
    if align:
        steps.append(SubjectRecentering())
    return [*steps, TangentSpace(metric="riemann"), StandardScaler()]


# The factories' own parameters, checked as scikit-learn checks its functions' (the covariance
# estimator's name is pyRiemann's, which checks it when the pipeline is fitted).
_FACTORY_CONSTRAINTS = {"align": ["boolean"], "estimator": [str, callable]}


@validate_params(_FACTORY_CONSTRAINTS, prefer_skip_nested_validation=True)
def riemann_logistic_regression(align=True, estimator="oas", **params):
    """Pipeline(Covariances, [SubjectRecentering], TangentSpace, StandardScaler, LogisticRegression(**params)).

    Parameters
    ----------
    align : bool, default=True
        Re-centre each subject's covariances (transductive for an unseen test subject).
    estimator : str, default="oas"
        pyRiemann's covariance estimator (Oracle Approximating Shrinkage).
    **params
        Of the logistic regression; defaults ``C=0.1, class_weight="balanced", max_iter=1000``.

    Returns
    -------
    Pipeline
        Takes raw windows X of shape (n_windows, n_channels, n_times).
    """
    params = {"C": 0.1, "class_weight": "balanced", "max_iter": 1000, **params}
    return make_pipeline(*_covariance_steps(align, estimator), LogisticRegression(**params))


@validate_params(_FACTORY_CONSTRAINTS, prefer_skip_nested_validation=True)
def riemann_ridge(align=True, estimator="oas", **params):
    """Regression counterpart of :func:`riemann_logistic_regression` (ridge regression, ``alpha=1``)."""
    return make_pipeline(*_covariance_steps(align, estimator), Ridge(**{"alpha": 1.0, **params}))
