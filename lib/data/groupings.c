/*
 * groupings.c - the table of BPBreID's PifPaf groupings (see groupings.h).
 *
 * Transcribed from doc/bpbreid.md §2.2 (channel numbers of its §1.2 table); part
 * names and order as in BPBreID's grouping classes. The asymmetries are BPBreID's and kept
 * on purpose: channel 21 (left_hip_to_right_hip) sits in both torso and left leg of 'eight';
 * 'five_v' leaves channels 21 and 22 out and puts only 23 in its lower torso.
 */
#include "groupings.h"

#include <stddef.h>
#include <string.h>

static const char *const channel_names[DROP_PIFPAF_CHANNELS] = {
	"nose", "left_eye", "right_eye", "left_ear", "right_ear",
	"left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
	"left_wrist", "right_wrist", "left_hip", "right_hip",
	"left_knee", "right_knee", "left_ankle", "right_ankle",
	"left_ankle_to_left_knee", "left_knee_to_left_hip",
	"right_ankle_to_right_knee", "right_knee_to_right_hip",
	"left_hip_to_right_hip", "left_shoulder_to_left_hip",
	"right_shoulder_to_right_hip", "left_shoulder_to_right_shoulder",
	"left_shoulder_to_left_elbow", "right_shoulder_to_right_elbow",
	"left_elbow_to_left_wrist", "right_elbow_to_right_wrist",
	"left_eye_to_right_eye", "nose_to_left_eye", "nose_to_right_eye",
	"left_eye_to_left_ear", "right_eye_to_right_ear",
	"left_ear_to_left_shoulder", "right_ear_to_right_shoulder",
};

/* A part: its name and member channels; the count is taken from the list. */
#define PART(nm, ...) \
	{ nm, (int)sizeof((const unsigned char[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

/* Channel sets used by many groupings. */
#define ALL 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, \
	22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35
#define HEAD 0, 1, 2, 3, 4, 29, 30, 31, 32, 33, 34, 35   /* face keypoints, face limbs,
                                                          ear-to-shoulder limbs */
#define LEFT_ARM 5, 7, 9, 25, 27
#define RIGHT_ARM 6, 8, 10, 26, 28
#define ARMS 5, 6, 7, 8, 9, 10, 25, 26, 27, 28
#define TORSO 11, 12, 21, 22, 23, 24
#define UPPER_TORSO 22, 23, 24
#define LOWER_TORSO 11, 12, 21
#define LEGS_HIPS 11, 12, 13, 14, 17, 18, 19, 20          /* hips, knees, leg limbs but 21 */
#define FEET 15, 16

#define EIGHT_PARTS                                          \
	PART("head_mask", HEAD),                             \
	PART("left_arm_mask", LEFT_ARM),                     \
	PART("right_arm_mask", RIGHT_ARM),                   \
	PART("torso_mask", TORSO),                           \
	PART("left_leg_mask", 13, 17, 18, 21),               \
	PART("right_leg_mask", 14, 19, 20),                  \
	PART("left_feet_mask", 15),                          \
	PART("right_feet_mask", 16)

static const struct drop_grouping table[] = {
	{ "full", 1, { PART("full_body", ALL) } },
	{ "one", 1, { PART("full", ALL) } },
	{ "two_v", 2, {
		PART("torso_arms_head", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
		     22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35),
		PART("legs", 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
	} },
	{ "three_v", 3, {
		PART("head_mask", HEAD),
		PART("torso_arms_mask", 5, 6, 7, 8, 9, 10, 22, 23, 24, 25, 26, 27, 28),
		PART("legs_mask", 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
	} },
	{ "four", 4, {
		PART("head_mask", HEAD),
		PART("arms_mask", ARMS),
		PART("torso_mask", 5, 6, 11, 12, 21, 22, 23, 24),
		PART("legs_mask", 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
	} },
	{ "four_no", 4, {
		PART("head_mask", HEAD),
		PART("arms_mask", 7, 8, 9, 10, 25, 26, 27, 28),
		PART("torso_mask", 5, 6, 11, 12, 21, 22, 23, 24),
		PART("legs_mask", 13, 14, 15, 16, 17, 18, 19, 20, 21),
	} },
	{ "four_v", 4, {
		PART("head_mask", HEAD),
		PART("arms_torso_mask", 5, 6, 7, 8, 9, 10, 11, 12,
		     21, 22, 23, 24, 25, 26, 27, 28),
		PART("legs_mask", LEGS_HIPS),
		PART("feet_mask", FEET),
	} },
	{ "four_v_pif", 4, {
		PART("head_mask", 0, 1, 2, 3, 4),
		PART("arms_torso_mask", 5, 6, 7, 8, 9, 10, 11, 12),
		PART("legs_mask", 11, 12, 13, 14),
		PART("feet_mask", FEET),
	} },
	{ "five_v", 5, {
		PART("head_mask", HEAD),
		PART("upper_arms_torso_mask", 5, 6, 7, 8, 24, 25, 26),
		PART("lower_arms_torso_mask", 9, 10, 11, 12, 23, 27, 28),
		PART("legs_mask", LEGS_HIPS),
		PART("feet_mask", FEET),
	} },
	{ "five", 5, {
		PART("head_mask", HEAD),
		PART("arms_mask", ARMS),
		PART("torso_mask", TORSO),
		PART("legs_mask", 11, 12, 13, 14, 17, 18, 19, 20, 21),
		PART("feet_mask", FEET),
	} },
	{ "six", 6, {
		PART("head_mask", HEAD),
		PART("left_arm_mask", LEFT_ARM),
		PART("right_arm_mask", RIGHT_ARM),
		PART("torso_mask", TORSO),
		PART("left_leg_mask", 13, 15, 17, 18, 21),
		PART("right_leg_mask", 14, 16, 19, 20),
	} },
	{ "six_v", 6, {
		PART("head_mask", HEAD),
		PART("arms_mask", ARMS),
		PART("upper_torso_mask", UPPER_TORSO),
		PART("lower_torso_mask", LOWER_TORSO),
		PART("legs_mask", LEGS_HIPS),
		PART("feet_mask", FEET),
	} },
	{ "six_new", 6, {
		PART("head_mask", HEAD),
		PART("torso_mask", TORSO),
		PART("left_arm_mask", LEFT_ARM),
		PART("right_arm_mask", RIGHT_ARM),
		PART("leg_mask", 13, 14, 17, 18, 19, 20, 21),
		PART("feet_mask", FEET),
	} },
	{ "seven_v", 7, {
		PART("head_mask", HEAD),
		PART("shoulders_mask", 5, 6, 24),
		PART("elbow_mask", 7, 8),
		PART("wrist_mask", 9, 10),
		PART("hip_mask", 11, 12, 21),
		PART("knee_mask", 13, 14),
		PART("ankle_mask", FEET),
	} },
	{ "seven_new", 7, {
		PART("head_mask", HEAD),
		PART("left_arm_mask", LEFT_ARM),
		PART("right_arm_mask", RIGHT_ARM),
		PART("upper_torso_mask", UPPER_TORSO),
		PART("lower_torso_mask", LOWER_TORSO),
		PART("leg_mask", 13, 14, 17, 18, 19, 20, 21),
		PART("feet_mask", FEET),
	} },
	{ "eight", 8, { EIGHT_PARTS } },
	{ "eight_v", 8, { EIGHT_PARTS } },
	{ "ten_ms", 10, {
		EIGHT_PARTS,
		PART("upper_body_mask", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		     21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35),
		PART("lower_body_mask", 13, 14, 15, 16, 17, 18, 19, 20, 21),
	} },
	{ "eleven", 11, {
		PART("head_mask", HEAD),
		PART("left_elbow_mask", 5, 7, 25),
		PART("left_wrist_mask", 9, 27),
		PART("right_elbow_mask", 6, 8, 26),
		PART("right_wrist_mask", 10, 28),
		PART("upper_torso_mask", UPPER_TORSO),
		PART("lower_torso_mask", LOWER_TORSO),
		PART("left_leg_mask", 13, 18, 21),
		PART("right_leg_mask", 14, 20),
		PART("left_feet_mask", 15, 17),
		PART("right_feet_mask", 16, 19),
	} },
	{ "fourteen", 14, {
		PART("head_mask", 0, 1, 2, 3, 4, 29, 30, 31, 32, 33),
		PART("neck_mask", 34, 35),
		PART("left_elbow_mask", 5, 7, 25),
		PART("left_wrist_mask", 9, 27),
		PART("right_elbow_mask", 6, 8, 26),
		PART("right_wrist_mask", 10, 28),
		PART("upper_torso_mask", UPPER_TORSO),
		PART("lower_torso_mask", LOWER_TORSO),
		PART("left_leg_mask", 13, 18, 21),
		PART("right_leg_mask", 14, 20),
		PART("left_tibia_mask", 17),
		PART("right_tibia_mask", 19),
		PART("left_feet_mask", 15),
		PART("right_feet_mask", 16),
	} },
};

#define NGROUPINGS ((int)(sizeof table / sizeof table[0]))

const char *drop_pifpaf_channel_name(int c)
{
	return c >= 0 && c < DROP_PIFPAF_CHANNELS ? channel_names[c] : NULL;
}

const struct drop_grouping *drop_grouping_find(const char *name)
{
	for (int i = 0; i < NGROUPINGS; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

const struct drop_grouping *drop_grouping_at(int i)
{
	return i >= 0 && i < NGROUPINGS ? &table[i] : NULL;
}
