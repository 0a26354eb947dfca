"""Leakage-free evaluation: splitters, the cross-validation runner, metrics, statistics, reports.

The default protocol keeps whole trials out of training within each subject; the leaky pooled
segment-level k-fold behind the field's ~99% results is available only by name and is labelled
"LEAKY" everywhere.
"""

from .audit import (
    LeakageError,
    SplitAudit,
    audit_split,
    check_split,
    read_split_file,
)
from .metrics import (
    classification_scores,
    concordance_correlation,
    pearson_r,
    regression_scores,
    trial_level,
)
from .nested import NestedGridSearchCV, nested
from .permutation import PermutationTestResult, permutation_test, permuted_trial_labels
from .protocols import PROTOCOLS, Protocol, get_protocol
from .report import load_results, render_report, write_report
from .results import CVResult
from .runner import cross_validate_subjects
from .samples import SampleContainer
from .splitters import (
    DatasetSplit,
    FirstTrialsSplit,
    InnerKFold,
    LeakySegmentKFold,
    LeaveOneSessionOut,
    LeaveOneSubjectOut,
    LeaveOneSubjectOutStimulusKFold,
    LeaveOneTrialOut,
    PerSubject,
    TrialKFold,
    parse_trial_keys,
)
from .stats import (
    compare_pipelines,
    group_permutation_p_value,
    paired_sign_flip_test,
    permutation_p_value,
)
from .targets import Target, make_target

__all__ = [
    "CVResult", "DatasetSplit", "FirstTrialsSplit", "InnerKFold", "LeakageError", "LeakySegmentKFold", "LeaveOneSessionOut",
    "LeaveOneSubjectOut", "LeaveOneSubjectOutStimulusKFold", "LeaveOneTrialOut", "NestedGridSearchCV", "PROTOCOLS", "PerSubject", "PermutationTestResult", "Protocol",
    "SampleContainer", "SplitAudit", "Target",
    "TrialKFold", "audit_split", "check_split", "classification_scores", "compare_pipelines",
    "concordance_correlation", "cross_validate_subjects", "get_protocol", "group_permutation_p_value",
    "make_target", "nested", "paired_sign_flip_test", "parse_trial_keys", "pearson_r",
    "load_results", "permutation_p_value", "permutation_test", "permuted_trial_labels", "read_split_file", "regression_scores", "render_report", "trial_level",
    "write_report",
]

