/* train/checkpoint.h - atomic per-epoch checkpoints and exact resume.
 *
 * A checkpoint folder holds:
 *   model-eNNNN.sqz  the graph after epoch NNNN (weights, BatchNorm statistics, masks) in
 *                    the native format, written atomically;
 *   state.bin        written atomically after the model: epoch, optimizer step count and
 *                    state (momentum / Adam moments per parameter, by name), the schedule
 *                    position, the seed and batch size, the model file's name, and a CRC-32
 *                    of all of it.
 * state.bin names the model it belongs to, so an interrupted save leaves the previous
 * consistent pair; older model files are removed after state.bin is committed. The data
 * order and augmentation streams are functions of (seed, epoch), so seed and epoch are the
 * whole RNG state of the loop. */
#ifndef SQZ_TRAIN_CHECKPOINT_H
#define SQZ_TRAIN_CHECKPOINT_H

#include "sqz/graph.h"
#include "sqz/status.h"
#include "train/trainer.h"

/* 1 if dir holds a state.bin. */
int sqz_checkpoint_exists(const char *dir);
/* Creates dir if needed and saves the trainer's graph and state. */
sqz_status sqz_checkpoint_save(const sqz_trainer *t, const char *dir, sqz_err *err);
/* Loads the graph of the checkpoint in dir (not prepared). */
sqz_status sqz_checkpoint_load_graph(const char *dir, sqz_graph **g, sqz_err *err);
/* Restores epoch, step and optimizer state into t, built on the graph loaded by
 * sqz_checkpoint_load_graph with the same seed, batch size and optimizer kind. */
sqz_status sqz_checkpoint_restore(sqz_trainer *t, const char *dir, sqz_err *err);

#endif
