"""The dual-branch respiratory sound classifier: network, training, inference, evaluation and the
MFCC + SVM baseline. Public entry points: ``inference.Classifier``, ``train.train_classifier``."""
