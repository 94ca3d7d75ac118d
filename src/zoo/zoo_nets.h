/* zoo/zoo_nets.h - the network bodies (private): each takes the input feature and the
 * width multiplier and returns the logits feature. */
#ifndef SQZ_ZOO_NETS_H
#define SQZ_ZOO_NETS_H

#include "zoo/zoo_builder.h"

zb_feat zoo_mlp300(zoo_builder *b, zb_feat x, float m);
zb_feat zoo_lenet5(zoo_builder *b, zb_feat x, float m);
zb_feat zoo_lenet5_caffe(zoo_builder *b, zb_feat x, float m);
zb_feat zoo_resnet(zoo_builder *b, zb_feat x, float m, int blocks);
zb_feat zoo_mobilenetv2(zoo_builder *b, zb_feat x, float m);

#endif
