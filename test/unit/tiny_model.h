/*
 * tiny_model.h - the configuration of the model fixtures (scripts/make-model-fixtures,
 * TINY and TCFG): hrnet-tiny at 64x32, K 4, D 32, C 6, C_hp 16, M 3. Shared by the tests
 * that build that model.
 */
#ifndef DROP_TEST_TINY_MODEL_H
#define DROP_TEST_TINY_MODEL_H

#include "../../lib/model/model.h"

static inline void tiny_config(struct drop_model_config *c)
{
	drop_model_config_default(c);
	c->backbone = DROP_HRNET_TINY;
	c->height = 64;
	c->width = 32;
	c->parts = 4;
	c->dim = 32;
	c->classes = 6;
	c->hp_channels = 16;
	c->pemb = 3;
}

#endif
