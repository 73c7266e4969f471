#!/bin/bash
# the control chain of session 23 is in ../det_cv33/run.sh: bash models/cv/det_cv33/run.sh control
