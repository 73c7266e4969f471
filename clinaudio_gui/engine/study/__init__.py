"""The augmentation study (the same compact CNN trained with each augmentation strategy) and the
embedders for the GAN's Frechet distance. This is the one engine subsystem that may use both the
classifier and the GAN."""
