"""What every engine subsystem shares: device choice, model packages, feature front-ends,
SPRSound items and splits, metrics, the augmentation hook and the feature cache location.

Modules here import nothing from the subsystems (classifier, detector, gan, study)."""
