# drop.bash - bash completion for the drop tools (one function for all of them).
# Install as /usr/share/bash-completion/completions/drop-<tool> (make install does), or
# source it from ~/.bashrc.

_drop_common_opts="-q --quiet -v --verbose --threads --device --progress --help --version"
_drop_groupings="full one two_v three_v four four_no four_v four_v_pif five_v five six six_v
six_new seven_v seven_new eight eight_v ten_ms eleven fourteen"

# _drop CMD CUR PREV: fill COMPREPLY for the word being completed.
_drop() {
    local cmd=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local opts="" words="" filter="" dirs=0
    COMPREPLY=()

    case $cmd in
    drop-labels)
        opts="-k -g --grouping --list-groupings -t --threshold --soft -o --output -s --size
              --overlay --max-pixels"
        case $prev in
        -k) words="5 8" ;;
        -g | --grouping) words=$_drop_groupings ;;
        -t | --threshold | -s | --size | --max-pixels) return ;;
        -o | --output | --overlay) dirs=1 ;;
        *) filter='!*.npy' ;;
        esac
        ;;
    drop-train)
        opts="-d --dataset -r --root --list -l --labels -o --output --backbone --size --parts
              --dim --init --no-decouple --no-ppe --triplet --ss-gamma --label-smooth --pemb --hp-weight
              --hp-channels --vis-threshold --batch --instances --epochs --lr --weight-decay
              --warmup --warmup-factor --steps --gamma --flip --pad --erase --seed --recompute
              --bf16 --tf32 --sync-bn --grad-bucket --conv-algo --resume --save-every --log --log-every --eval --eval-every --max-pixels"
        case $prev in
        -d | --dataset)
            words="market1501 dukemtmcreid occluded_duke occluded_reid p_dukemtmc_reid" ;;
        --backbone) words="hrnet-w32 hrnet-tiny resnet50 resnet50-ibn" ;;
        --triplet) words="pct part-avg none" ;;
        --conv-algo) words="auto direct winograd" ;;
        -r | --root | -l | --labels) dirs=1 ;;
        --list) filter='!*.tsv' ;;
        -o | --output | --init | --resume) filter='!*.safetensors' ;;
        --log) ;;
        --size | --parts | --dim | --ss-gamma | --label-smooth | --pemb | --hp-weight | --hp-channels | \
            --vis-threshold | --batch | --instances | --epochs | --lr | --weight-decay | \
            --warmup | --warmup-factor | --steps | --gamma | --flip | --pad | --erase | --seed | \
            --grad-bucket | \
            --save-every | \
            --log-every | --eval-every | --max-pixels) return ;;
        esac
        ;;
    drop-embed)
        opts="-m --model -o --output --batch --size --list --masks --masks-size --dump --bf16
              --tf32 --conv-algo --max-pixels"
        case $prev in
        -m | --model) filter='!*.safetensors' ;;
        -o | --output) filter='!*.npy' ;;
        --masks) dirs=1 ;;
        --masks-size) words="feature image" ;;
        --dump) words="preid parsing p1 p2 p3 p4" ;;
        --conv-algo) words="auto direct winograd" ;;
        --batch | --size | --max-pixels) return ;;
        esac
        ;;
    drop-match)
        opts="--use --vis-threshold --metric --top -o --output --text --matrix --block --gallery-block
              --rerank --rerank-k1 --rerank-k2 --rerank-lambda
              --sheet --sheet-queries --sheet-top --sheet-root --max-pixels"
        case $prev in
        --use) words="G F P G+F F+P G+F+P" ;;
        --metric) words="euclidean cosine" ;;
        --vis-threshold | --top | --block | --gallery-block | --sheet-queries | --sheet-top | --max-pixels) return ;;
        --rerank-k1 | --rerank-k2 | --rerank-lambda) return ;;
        -o | --output) filter='!*.npy' ;;
        --sheet) filter='!*.png' ;;
        --sheet-root) dirs=1 ;;
        *) filter='!*.npy' ;;
        esac
        ;;
    drop-score)
        opts="--dist --query --gallery --protocol --ranks --max-rank --seed --json --per-query
              --roc --roc-plot --parsing --labels --grouping"
        case $prev in
        --protocol) words="market cuhk03-single-shot" ;;
        --ranks | --max-rank | --seed) return ;;
        --query | --gallery) filter='!*.tsv' ;;
        --per-query | --roc) filter='!*.tsv' ;;
        --roc-plot) filter='!*.png' ;;
        --parsing | --labels) dirs=1 ;;
        --grouping) words="$(drop-labels --list-groupings 2> /dev/null | awk '{ print $1 }')" ;;
        *) filter='!*.npy' ;;
        esac
        ;;
    esac

    case $prev in
    --threads) return ;;
    --device) words="cpu cuda cpu-strict" ;;
    esac

    if [[ -n $words ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts $_drop_common_opts" -- "$cur"))
    elif ((dirs)); then
        COMPREPLY=($(compgen -d -- "$cur"))
    else
        COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X "$filter" -- "$cur"))
    fi
}

complete -o filenames -F _drop drop-labels drop-train drop-embed drop-match drop-score
