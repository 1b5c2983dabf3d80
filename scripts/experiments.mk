# scripts/experiments.mk - reproduce the paper's tables (DROP, arXiv:2401.18032) with the
# drop tools: labels -> train -> embed -> match -> score, one markdown table per target
# with the paper's numbers beside ours.
#
#   make -f scripts/experiments.mk DATA=/path/to/datasets [VAR=value]... TARGET...
#
# Targets (each writes OUT/TARGET.md; `make -f scripts/experiments.mk help` lists them):
#   occluded_duke    Occluded-Duke, K=8                       (paper Table 1)
#   p_dukemtmc_reid  P-DukeMTMC-reID, K=8                     (Table 1)
#   occluded_reid    trained on Market-1501 with K=8, tested on all of Occluded-REID
#                    (BPBreID's protocol; Table 2)
#   market1501       Market-1501, K=5                         (Table 3)
#   dukemtmcreid     DukeMTMC-reID, K=5                       (Table 3)
#   table4           the ablations of Tables 4 and 5 on Occluded-Duke
#   table6           the test embeddings G, F, P, G+F, F+P, G+F+P of one model (Table 6)
#   table7           the backbones ResNet-50, ResNet-50-IBN, HRNet-W32 (Table 7)
#   all              all of the above, and OUT/all.md holding every table
#
# Variables (defaults: the paper's settings, doc/model.md §6):
#   DATA=DIR            the folder holding the datasets (required)
#   OUT=DIR             where everything is written (experiments)
#   BIN=DIR             the drop tools (build/bin)
#   EPOCHS=120 SIZE=256x128 BACKBONE=hrnet-w32 BATCH=64 INSTANCES=4 SEED=1
#                       drop-train's --epochs --size --backbone --batch --instances --seed
#   INIT=FILE           ImageNet weights of BACKBONE (.safetensors; none: random init)
#   INIT_resnet50=FILE INIT_resnet50-ibn=FILE INIT_hrnet-w32=FILE   the same for table7
#   TRAIN_FLAGS=...     more drop-train options for every training
#   THREADS=N DEVICE=cpu|cuda TOOL_FLAGS=...   options of every tool (TOOL_FLAGS=-q ...)
#   TABLE6_USES='G F P G+F F+P G+F+P'   TABLE7_BACKBONES='resnet50 resnet50-ibn hrnet-w32'
#
# DATA holds the datasets in their published folders (doc/bpbreid.md §4), each with
# its PifPaf labels in masks/pifpaf_maskrcnn_filtering/: Occluded_Duke, P-DukeMTMC-reID,
# Occluded_REID, Market-1501-v15.09.15, DukeMTMC-reID. A target whose dataset folder is
# missing stops before doing anything, naming the folder it expected.
#
# Every step writes a file under OUT, so make's own dependency graph resumes an
# interrupted run and does nothing for a target whose outputs exist:
#   OUT/labels/LAYOUT-kK.done               drop-labels -k K of the layout's label tree
#                                           (into OUT/labels/LAYOUT-kK/)
#   OUT/lists/LAYOUT-{query,gallery}.tsv     the test images: path, pid, camid
#   OUT/RUN/train.args                      the training settings of RUN
#   OUT/RUN/model.safetensors               drop-train (checkpoints go to
#                                           train-ckpt.safetensors and a rerun resumes
#                                           from the last one; moved here at the end)
#   OUT/RUN/{query,gallery}.npy             drop-embed
#   OUT/RUN/score-USE.json                  drop-match --use USE | drop-score --json
# RUN is the target's name (occluded_duke, ...), table4/ROW or table7/BACKBONE; the
# table targets reuse occluded_duke's model where their settings are the same.
# Changing a variable that a training depends on (EPOCHS, SIZE, ...) makes train.args
# out of date, so that it, the model and what follows are made again (make -q says so;
# make -n writes nothing); labels and lists are kept: remove them to redo them.
#
# Not here: downloading datasets or ImageNet weights; re-ranking; the other methods'
# rows of the paper's tables (quoted where they help, never run).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := help

# Where things are, and the settings (defaults: the paper's, doc/model.md §6).
DATA ?=
OUT ?= experiments
BIN ?= build/bin
EPOCHS ?= 120
SIZE ?= 256x128
BACKBONE ?= hrnet-w32
BATCH ?= 64
INSTANCES ?= 4
SEED ?= 1
# ImageNet weights (.safetensors) of BACKBONE; INIT_<backbone> for table7's others.
INIT ?=
INIT_resnet50 ?=
INIT_resnet50-ibn ?=
INIT_hrnet-w32 ?=
# Extra drop-train options for every training (e.g. --save-every 5).
TRAIN_FLAGS ?=
# Options of every tool: --threads N, --device cuda, -q ...
THREADS ?=
DEVICE ?=
TOOL_FLAGS ?=
# What the table targets cover.
TABLE6_USES ?= G F P G+F F+P G+F+P
TABLE7_BACKBONES ?= resnet50 resnet50-ibn hrnet-w32

TOOLS := $(strip $(if $(THREADS),--threads $(THREADS)) $(if $(DEVICE),--device $(DEVICE)) \
	$(TOOL_FLAGS))
# $(call tool,NAME): the command line start of drop-NAME.
tool = $(BIN)/drop-$1$(if $(TOOLS), $(TOOLS))

# ---------------------------------------------------------------------------------------
# Datasets: folder under DATA, K, title, the paper's Rank-1 / Rank-5 / mAP (- = none).

DATASETS := occluded_duke p_dukemtmc_reid occluded_reid market1501 dukemtmcreid

FOLDER_occluded_duke := Occluded_Duke
FOLDER_p_dukemtmc_reid := P-DukeMTMC-reID
FOLDER_occluded_reid := Occluded_REID
FOLDER_market1501 := Market-1501-v15.09.15
FOLDER_dukemtmcreid := DukeMTMC-reID

TITLE_occluded_duke := Occluded-Duke (paper Table 1)
TITLE_p_dukemtmc_reid := P-DukeMTMC-reID (paper Table 1)
TITLE_occluded_reid := Occluded-REID, trained on Market-1501 (paper Table 2)
TITLE_market1501 := Market-1501 (paper Table 3)
TITLE_dukemtmcreid := DukeMTMC-reID (paper Table 3)

PAPER_occluded_duke := 76.8 - 63.3
PAPER_p_dukemtmc_reid := 93.8 - 83.4
PAPER_occluded_reid := 94.2 98.2 -
PAPER_market1501 := 95.6 - 89.5
PAPER_dukemtmcreid := 92.8 - 84.3

# The test images of a layout, as find | awk rules (lib/data/dataset.h): folder of the query and
# of the gallery, image pattern, and the awk program giving "path TAB pid TAB camid".
QUERY_DIR_occluded_duke := query
QUERY_DIR_market1501 := query
QUERY_DIR_dukemtmcreid := query
QUERY_DIR_occluded_reid := occluded_body_images
QUERY_DIR_p_dukemtmc_reid := test/occluded_body_images
GALLERY_DIR_occluded_duke := bounding_box_test
GALLERY_DIR_market1501 := bounding_box_test
GALLERY_DIR_dukemtmcreid := bounding_box_test
GALLERY_DIR_occluded_reid := whole_body_images
GALLERY_DIR_p_dukemtmc_reid := test/whole_body_images
EXT_occluded_reid := tif
EXT_DEFAULT := jpg
# Market, Duke, Occluded-Duke: the first PID_cD of the file name, camid D-1; Market drops
# pid -1 (junk). Occluded-REID, P-Duke: pid before the first '_', camid by folder
# (query 0, gallery 1). -v cam=... and -v junk=... select.
NAME_AWK := { n = split($$0, f, "/"); b = f[n] } \
	cam == "" { if (!match(b, /-?[0-9]+_c[1-9]/)) { print $$0 ": no PID_cD pattern in the file name" > "/dev/stderr"; bad = 1; exit 1 } \
	            s = substr(b, RSTART, RLENGTH); i = index(s, "_c"); pid = substr(s, 1, i - 1) + 0; c = substr(s, i + 2, 1) - 1 } \
	cam != "" { if (!match(b, /^[0-9]+_/)) { print $$0 ": no PID_ at the start of the file name" > "/dev/stderr"; bad = 1; exit 1 } \
	            pid = substr(b, 1, RLENGTH - 1) + 0; c = cam } \
	junk && pid == -1 { next } \
	{ printf "%s\t%d\t%d\n", $$0, pid, c; rows++ } \
	END { if (!bad && !rows) { print dir ": no images" > "/dev/stderr"; exit 1 } }
FIXED_CAMS := occluded_reid p_dukemtmc_reid

folder = $(DATA)/$(FOLDER_$1)

# ---------------------------------------------------------------------------------------
# Markdown rows. $(call md_row,LEAD,KEYS,PAPER,JSON) appends "LEAD | paper | ours | ..."
# for each score key of KEYS ("1" "5" "10" = Rank-k, "mAP") to $@.tmp; PAPER holds the
# paper's numbers in the same order. $(call md_none,LEAD,PAPER): a row we cannot run.

ROW_AWK := BEGIN { n = split(keys, k, " "); split(paper, p, " ") } \
	{ for (i = 1; i <= n; i++) { re = "\"" k[i] "\": *[-+.0-9eE]+"; \
	    if (match($$0, re)) { s = substr($$0, RSTART, RLENGTH); sub(/^.*: */, "", s); v[i] = sprintf("%.1f", 100 * s) } } } \
	END { line = lead; \
	      for (i = 1; i <= n; i++) { if (!(i in v)) { print FILENAME ": no \"" k[i] "\"" > "/dev/stderr"; exit 1 } \
	                                 line = line " | " p[i] " | " v[i] } \
	      print line " |" }
md_row = awk -v lead='$1' -v keys='$2' -v paper='$3' '$(ROW_AWK)' $4 >> $@.tmp
md_none = awk -v lead='$1' -v paper='$2' 'BEGIN { n = split(paper, p, " "); line = lead; \
	for (i = 1; i <= n; i++) line = line " | " p[i] " | n/a"; print line " |" }' >> $@.tmp
md_text = printf '%s\n' $1 >> $@.tmp

# The departures from the paper's settings, for the note under each table.
departures = $(strip $(if $(filter-out hrnet-w32,$(BACKBONE)),BACKBONE=$(BACKBONE)) \
	$(if $(filter-out 120,$(EPOCHS)),EPOCHS=$(EPOCHS)) \
	$(if $(filter-out 256x128,$(SIZE)),SIZE=$(SIZE)) \
	$(if $(filter-out 64,$(BATCH)),BATCH=$(BATCH)) \
	$(if $(filter-out 4,$(INSTANCES)),INSTANCES=$(INSTANCES)) \
	$(if $(TRAIN_FLAGS),TRAIN_FLAGS='$(TRAIN_FLAGS)'))
# $(call settings_note,BACKBONE): the settings line of a table.
settings = $1$(comma) $(if $(call init_for,$1),ImageNet init $(notdir $(call init_for,$1)),random init (no INIT given))$(comma) \
	$(SIZE)$(comma) $(EPOCHS) epochs$(comma) batches of $(BATCH) ($(INSTANCES) images per identity)$(comma) \
	seed $(SEED)$(if $(departures), - not the paper$(apos)s settings: $(departures))
settings_note = $(call md_text,'' 'Ours: $(strip $(settings)).' \
	'Both columns are without re-ranking$(comma) as in the paper (drop-match --rerank is not used).')
comma := ,
apos := '"'"'

# ---------------------------------------------------------------------------------------
# Runs. $(call run,RUN,TRAIN LAYOUT,TEST LAYOUT,K,BACKBONE,FLAGS) defines the rules of
# OUT/RUN: training settings, model, embeddings, scores.

# $(call same,A,B): non-empty when the strings A and B are equal (both non-empty).
same = $(and $(findstring $1,$2),$(findstring $2,$1))
# $(call changed,FILE,TEXT): .FORCE when FILE exists and does not hold TEXT.
changed = $(if $(wildcard $1),$(if $(call same,$(file <$1),$2),,.FORCE))
.PHONY: .FORCE
init_for = $(if $(INIT_$1),$(INIT_$1),$(if $(filter $1,$(BACKBONE)),$(INIT)))

define run
ARGS_$1 := --dataset $2 --backbone $5 --size $(SIZE) --parts $4 --epochs $(EPOCHS) \
	--batch $(BATCH) --instances $(INSTANCES) --seed $(SEED) \
	$(if $(call init_for,$5),--init $(call init_for,$5)) $6 $(TRAIN_FLAGS)
ARGS_$1 := $$(strip $$(ARGS_$1))

$(OUT)/$1/train.args: $$(call changed,$(OUT)/$1/train.args,$$(ARGS_$1)) | $(call folder,$2)
	mkdir -p $$(@D)
	printf '%s\n' '$$(ARGS_$1)' > $$@.tmp && mv $$@.tmp $$@

$(OUT)/$1/model.safetensors: $(OUT)/$1/train.args $(OUT)/labels/$2-k$4.done | $(call folder,$2)
	ckpt=$$(@D)/train-ckpt.safetensors; resume=; \
	if [ -f $$$$ckpt ] && [ $$$$ckpt -nt $$< ]; then resume="--resume $$$$ckpt"; fi; \
	$(call tool,train) --root $(DATA) --labels $(OUT)/labels/$2-k$4 $$(ARGS_$1) \
		--log $$(@D)/train-log.jsonl $$$$resume -o $$$$ckpt; \
	mv $$$$ckpt $$@

$(OUT)/$1/query.npy: $(OUT)/$1/model.safetensors $(OUT)/lists/$3-query.tsv
	$(call tool,embed) -m $$< -o $$@ --list $(OUT)/lists/$3-query.tsv

$(OUT)/$1/gallery.npy: $(OUT)/$1/model.safetensors $(OUT)/lists/$3-gallery.tsv
	$(call tool,embed) -m $$< -o $$@ --list $(OUT)/lists/$3-gallery.tsv

$(OUT)/$1/score-%.json: $(OUT)/$1/query.npy $(OUT)/$1/gallery.npy
	$(call tool,match) --use $$* $(OUT)/$1/gallery.npy $(OUT)/$1/query.npy | \
		$(call tool,score) --json > $$@.tmp
	mv $$@.tmp $$@
endef

# Labels and test lists of each layout.
define layout
$(OUT)/labels/$1-k%.done: | $(call folder,$1)
	mkdir -p $(OUT)/labels
	$(call tool,labels) -k $$* -o $(OUT)/labels/$1-k$$* \
		$(call folder,$1)/masks/pifpaf_maskrcnn_filtering
	touch $$@

$(OUT)/lists/$1-%.tsv: | $(call folder,$1)
	mkdir -p $(OUT)/lists
	dir=$(call folder,$1)/$$(if $$(filter query,$$*),$(QUERY_DIR_$1),$(GALLERY_DIR_$1)); \
	find -L $$$$dir -type f -name '*.$(or $(EXT_$1),$(EXT_DEFAULT))' | LC_ALL=C sort | \
		awk $(if $(filter $1,$(FIXED_CAMS)),-v cam=$$(if $$(filter query,$$*),0,1)) \
		    -v junk=$(if $(filter market1501,$1),1,0) -v dir=$$$$dir '$$(NAME_AWK)' > $$@.tmp
	mv $$@.tmp $$@
endef

$(foreach d,$(DATASETS),$(eval $(call layout,$d)))

# A dataset folder that does not exist: the order-only prerequisite fails with this rule.
$(foreach d,$(DATASETS),$(call folder,$d)):
	@echo "experiments.mk: $@: no such folder (expected the dataset there; DATA=$(DATA))" >&2
	@exit 1

# ---------------------------------------------------------------------------------------
# The five datasets, at the paper's settings (F+P at test time).

K_occluded_duke := 8
K_p_dukemtmc_reid := 8
K_occluded_reid := 8
K_market1501 := 5
K_dukemtmcreid := 5
TRAIN_occluded_reid := market1501

$(foreach d,$(DATASETS),$(eval $(call run,$d,$(or $(TRAIN_$d),$d),$d,$(K_$d),$(BACKBONE),)))

$(foreach d,$(DATASETS),$(eval $(OUT)/$d.md: $(OUT)/$d/score-F+P.json))
$(addsuffix .md,$(addprefix $(OUT)/,$(DATASETS))):
	@rm -f $@.tmp
	@$(call md_text,'# $(TITLE_$(basename $(notdir $@)))' '' \
		'| | Rank-1 paper | Rank-1 ours | Rank-5 paper | Rank-5 ours | mAP paper | mAP ours |' \
		'|---|---|---|---|---|---|---|')
	@$(call md_row,| DROP (drop-match --use F+P),1 5 mAP,$(PAPER_$(basename $(notdir $@))),$<)
	@$(call settings_note,$(BACKBONE))
	@$(if $(filter occluded_reid,$(basename $(notdir $@))),$(call md_text,'' \
		'The paper (section 4.1) says half of Occluded-REID trains and half tests; we follow' \
		'BPBreID: train on Market-1501 (K=8)$(comma) test on all 200 Occluded-REID identities.'))
	@mv $@.tmp $@

# ---------------------------------------------------------------------------------------
# Table 4 (and the DROP column of Table 5): ablations on Occluded-Duke. The paper's check
# marks are lost in the text; the rows are read with Table 5, whose part-averaged and PCT
# rows repeat rows 3 and 4: so rows 1-3 use the part-averaged triplet, row 4 adds PCT
# without the smoothing term, row 5 the smoothing term without PCT.

T4_ROWS := baseline decouple ppf pct ss
T4_FLAGS_baseline := --no-decouple --no-ppe --triplet part-avg --ss-gamma 0
T4_FLAGS_decouple := --no-ppe --triplet part-avg --ss-gamma 0
T4_FLAGS_ppf := --triplet part-avg --ss-gamma 0
T4_FLAGS_pct := --ss-gamma 0
T4_FLAGS_ss := --triplet part-avg
T4_NAME_baseline := 1 Baseline (coupled)
T4_NAME_decouple := 2 + Decouple
T4_NAME_ppf := 3 + Decouple + PPF
T4_NAME_pct := 4 + Decouple + PPF + PCT
T4_NAME_ss := 5 + Decouple + PPF + SS
T4_PAPER_baseline := 57.8 49.6
T4_PAPER_decouple := 73.5 61.3
T4_PAPER_ppf := 74.6 61.7
T4_PAPER_pct := 76.2 62.8
T4_PAPER_ss := 75.2 62.2

$(foreach r,$(T4_ROWS),$(eval $(call run,table4/$r,occluded_duke,occluded_duke,8,$(BACKBONE),$(T4_FLAGS_$r))))

T4_SCORES := $(foreach r,$(T4_ROWS),$(OUT)/table4/$r/score-F+P.json) $(OUT)/occluded_duke/score-F+P.json
$(OUT)/table4.md: $(T4_SCORES)
	@rm -f $@.tmp
	@$(call md_text,'# Table 4: components of DROP on Occluded-Duke' '' \
		'| row | drop-train switches | Rank-1 paper | Rank-1 ours | mAP paper | mAP ours |' \
		'|---|---|---|---|---|---|')
	@$(foreach r,$(T4_ROWS),$(call md_row,| $(T4_NAME_$r) | `$(T4_FLAGS_$r)`,1 mAP,$(T4_PAPER_$r),$(OUT)/table4/$r/score-F+P.json);)
	@$(call md_row,| 6 DROP (all) | (defaults; the occluded_duke model),1 mAP,76.8 63.3,$(OUT)/occluded_duke/score-F+P.json)
	@$(call md_text,'' '# Table 5: triplet losses (DROP column) on Occluded-Duke' '' \
		'| loss | drop-train switches | Rank-1 paper | Rank-1 ours | mAP paper | mAP ours |' \
		'|---|---|---|---|---|---|')
	@$(call md_none,| Part-level HCT | no switch,73.8 61.3)
	@$(call md_row,| Part-averaged triplet | `$(T4_FLAGS_ppf)` (row 3),1 mAP,74.6 61.7,$(OUT)/table4/ppf/score-F+P.json)
	@$(call md_row,| PCT | `$(T4_FLAGS_pct)` (row 4),1 mAP,76.2 62.8,$(OUT)/table4/pct/score-F+P.json)
	@$(call md_text,'' \
		'The paper$(apos)s check marks are lost in its text: rows 3 and 4 are read from Table 5$(comma)' \
		'whose part-averaged and PCT rows repeat their numbers$(comma) so row 5 is SS without PCT.' \
		'Every Table 4 row has a switch. Rows with no switch: Table 5$(apos)s part-level HCT loss' \
		'(drop-train --triplet has pct$(comma) part-avg and none) and its PCB* column (no PCB model).' \
		'Row 1 is our coupled baseline (the parsing classifier on the ReID features$(comma) as' \
		'BPBreID) with the part-averaged triplet; the paper does not say which triplet it used.')
	@$(call settings_note,$(BACKBONE))
	@mv $@.tmp $@

# ---------------------------------------------------------------------------------------
# Table 6: the test embeddings of one model (occluded_duke's).

T6_PAPER_G := 54.9 64.0 77.2 82.3
T6_PAPER_F := 57.3 69.2 82.8 86.7
T6_PAPER_P := 61.3 75.2 86.5 89.7
T6_PAPER_G+F := 58.2 68.1 81.3 85.8
T6_PAPER_F+P := 63.3 76.8 87.2 92.7
T6_PAPER_G+F+P := 63.6 75.8 86.8 90.2


$(OUT)/table6.md: $(foreach u,$(TABLE6_USES),$(OUT)/occluded_duke/score-$u.json)
	@rm -f $@.tmp
	@$(call md_text,'# Table 6: test embeddings on Occluded-Duke (one model)' '' \
		'| embeddings | mAP paper | mAP ours | Rank-1 paper | Rank-1 ours | Rank-5 paper | Rank-5 ours | Rank-10 paper | Rank-10 ours |' \
		'|---|---|---|---|---|---|---|---|---|')
	@$(call md_none,| k=1 (head),26.4 44.7 62.2 69.0)
	@$(call md_none,| k=2 (torso),29.1 50.3 65.0 70.3)
	@$(call md_none,| k=3 (right arm),29.2 50.5 64.9 70.7)
	@$(call md_none,| k=4 (left arm),30.5 48.6 62.0 67.7)
	@$(call md_none,| k=5+6 (legs),17.1 28.8 46.3 55.0)
	@$(call md_none,| k=7+8 (feet),7.0 12.2 20.3 25.3)
	@$(foreach u,$(TABLE6_USES),$(call md_row,| $u (drop-match --use $u),mAP 1 5 10,$(or $(T6_PAPER_$u),- - - -),$(OUT)/occluded_duke/score-$u.json);)
	@$(call md_text,'' 'The single-part rows have no switch: drop-match --use has no one-part choice.')
	@$(call settings_note,$(BACKBONE))
	@mv $@.tmp $@

# ---------------------------------------------------------------------------------------
# Table 7: backbones on Occluded-Duke (BACKBONE's row is the occluded_duke model).

T7_NAME_resnet50 := ResNet-50
T7_NAME_resnet50-ibn := ResNet-50-IBN
T7_NAME_hrnet-w32 := HRNet-W32
T7_PAPER_resnet50 := 69.3 54.0
T7_PAPER_resnet50-ibn := 72.4 58.0
T7_PAPER_hrnet-w32 := 76.8 63.3
t7_run = $(if $(filter $1,$(BACKBONE)),occluded_duke,table7/$1)

$(foreach b,$(filter-out $(BACKBONE),$(TABLE7_BACKBONES)),$(eval $(call run,table7/$b,occluded_duke,occluded_duke,8,$b,)))

$(OUT)/table7.md: $(foreach b,$(TABLE7_BACKBONES),$(OUT)/$(call t7_run,$b)/score-F+P.json)
	@rm -f $@.tmp
	@$(call md_text,'# Table 7: backbones on Occluded-Duke (DROP rows)' '' \
		'| backbone | drop-train --backbone | Rank-1 paper | Rank-1 ours | mAP paper | mAP ours |' \
		'|---|---|---|---|---|---|')
	@$(foreach b,$(TABLE7_BACKBONES),$(call md_row,| $(or $(T7_NAME_$b),$b) | $b,1 mAP,$(or $(T7_PAPER_$b),- -),$(OUT)/$(call t7_run,$b)/score-F+P.json);)
	@$(call md_text,'' 'The other methods$(apos) rows of Table 7 (HCGA$(comma) ISP$(comma) BPBreID*) are not DROP and have no switch.')
	@$(foreach b,$(TABLE7_BACKBONES),$(call settings_note,$b);)
	@mv $@.tmp $@

# ---------------------------------------------------------------------------------------
# Goals.

TABLES := table4 table6 table7
.PHONY: help all $(DATASETS) $(TABLES)
$(DATASETS) $(TABLES): %: $(OUT)/%.md
all: $(OUT)/all.md
$(OUT)/all.md: $(foreach t,$(DATASETS) $(TABLES),$(OUT)/$t.md)
	@cat $^ > $@.tmp
	@mv $@.tmp $@

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# The datasets each goal reads; checked before anything runs.
NEEDS_occluded_reid := market1501 occluded_reid
NEEDS_table4 := occluded_duke
NEEDS_table6 := occluded_duke
NEEDS_table7 := occluded_duke
NEEDS_all := $(DATASETS)
needed := $(sort $(foreach g,$(MAKECMDGOALS),$(or $(NEEDS_$g),$(filter $g,$(DATASETS)))))
ifneq ($(needed),)
ifeq ($(strip $(DATA)),)
$(error DATA is not set: make -f scripts/experiments.mk DATA=/path/to/datasets $(MAKECMDGOALS))
endif
missing := $(strip $(foreach d,$(needed),$(if $(wildcard $(call folder,$d)/.),,$d)))
ifneq ($(missing),)
$(error no such dataset folder: $(foreach d,$(missing),$(call folder,$d) ($d)) - each dataset is expected in its published folder under DATA$(comma) with masks/pifpaf_maskrcnn_filtering/ inside)
endif
endif
