# gpu-bench.bash - what scripts/bench-train and scripts/bench-embed share on an NVIDIA GPU
# (sourced, not run): the GPU's name, its peak FLOP/s, and the GPU memory a command uses.
#
# Peaks: dense (no 2:4 sparsity) TFLOP/s from NVIDIA's data sheets, by the name nvidia-smi
# prints: fp32 on the CUDA cores, TF32 and bf16 on the tensor cores. GPU_PEAK_FP32,
# GPU_PEAK_TF32 and GPU_PEAK_BF16 (TFLOP/s) override them, or give them for a GPU not in the
# table; without a peak the fraction is left out.
# Memory: nvidia-smi samples the GPU's used memory every 50 ms while the command runs; the
# peak less what was in use before it starts is the command's, its CUDA context included.

# gpu_name: the first GPU's name.
gpu_name() {
	nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1
}

# gpu_peaks NAME: set peak_fp32, peak_tf32, peak_bf16 (TFLOP/s, or empty).
gpu_peaks() {
	local fp32='' tf32='' bf16=''
	case $1 in
	*H100*PCIe*) fp32=51.2 tf32=378 bf16=756 ;;
	*H100*NVL*) fp32=60 tf32=417.5 bf16=835.5 ;;
	*H100* | *H200* | *GH200*) fp32=66.9 tf32=494.7 bf16=989.4 ;;
	*A100*) fp32=19.5 tf32=156 bf16=312 ;;
	*L40S*) fp32=91.6 tf32=183 bf16=362 ;;
	esac
	peak_fp32=${GPU_PEAK_FP32:-$fp32}
	peak_tf32=${GPU_PEAK_TF32:-$tf32}
	peak_bf16=${GPU_PEAK_BF16:-$bf16}
}

# gpu_mem_run OUT CMD...: run CMD; OUT gets the peak MiB of GPU memory it used. Returns
# CMD's status.
gpu_mem_run() {
	local out=$1 base rc sampler
	shift
	base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n 1)
	nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 \
		>"$out.samples" 2>/dev/null &
	sampler=$!
	rc=0
	"$@" || rc=$?
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	awk -v b="$base" '$1 + 0 > m { m = $1 + 0 } END { print (m > b ? m - b : 0) }' \
		"$out.samples" >"$out"
	return "$rc"
}

# gpu_fraction GFLOP_PER_IMAGE IMAGES_PER_S PEAK_TFLOPS: "T TFLOP/s|P %" or "T TFLOP/s|-".
gpu_fraction() {
	awk -v f="$1" -v i="$2" -v p="$3" 'BEGIN {
		t = f * i / 1000
		if (p > 0) printf "%.2f|%.1f %%", t, 100 * t / p
		else printf "%.2f|-", t }'
}
