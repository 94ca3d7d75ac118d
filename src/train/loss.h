/* train/loss.h - losses on (batch, classes) float rows; each returns the MEAN loss over
 * the batch and, when d is non-NULL, writes its gradient (of the mean). */
#ifndef SQZ_TRAIN_LOSS_H
#define SQZ_TRAIN_LOSS_H

#include <stdint.h>

/* Softmax cross-entropy with label smoothing eps (targets (1-eps) on the label + eps/C
 * everywhere). n_correct (may be NULL) receives the number of rows whose argmax == label. */
float sqz_loss_softmax_xent(const float *logits, const int64_t *labels, int64_t batch, int64_t classes,
                            float label_smoothing, float *dlogits, int64_t *n_correct);
/* Distillation: KL(softmax(teacher/T) || softmax(student/T)) * T^2 (Hinton et al.). */
float sqz_loss_kl_soft(const float *student, const float *teacher, int64_t batch, int64_t classes, float T,
                       float *dstudent);
/* Mean squared error over n elements (feature / hint matching). */
float sqz_loss_mse(const float *a, const float *b, int64_t n, float *da);

#endif
