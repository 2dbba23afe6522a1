# env.sh - sourced (bash) to run a lipstream bundle made by scripts/bundle.sh:
#
#   . BUNDLE/env.sh && BUNDLE/lipstream serve --device cuda ...
#
# Puts the bundle's libraries first on the library path, makes GStreamer
# load only the bundle's plugins (with its own registry, in the bundle),
# points espeak-ng and the face detector (avatar create) at the bundle's
# data, and finds the CUDA libraries the host must provide (CUDA's runtime,
# cuBLAS, cuDNN): in the dynamic linker's cache, CUDA's lib64, or the
# nvidia packages of a Python installation (PyTorch's wheels). It says which one it could not find;
# lipstream then reports the missing library when a GPU is asked for.
ls_bundle=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ls_python=${LS_PYTHON:-$(command -v python3 || true)}

# A folder holding $1, from the places a CUDA machine keeps its libraries.
ls_bundle_find_lib() {
  local dir
  if /sbin/ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 "; then
    return 0   # the dynamic linker finds it without help
  fi
  for dir in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
    [ -e "$dir/$1" ] && { echo "$dir"; return 0; }
  done
  if [ -n "$ls_python" ]; then
    dir=$("$ls_python" - "$1" 2>/dev/null <<'PY'
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
for root in roots:
    for path in glob.glob(os.path.join(root, "nvidia", "**", sys.argv[1]), recursive=True):
        print(os.path.dirname(path))
        sys.exit(0)
sys.exit(1)
PY
) && { echo "$dir"; return 0; }
  fi
  return 1
}

ls_bundle_path=$ls_bundle/lib
for ls_lib in $(cat "$ls_bundle/host-cuda-libs"); do
  if ls_dir=$(ls_bundle_find_lib "$ls_lib"); then
    [ -n "$ls_dir" ] && case ":$ls_bundle_path:" in *":$ls_dir:"*) ;; *) ls_bundle_path+=":$ls_dir" ;; esac
  else
    echo "env.sh: $ls_lib not found on this machine (CUDA's runtime, cuBLAS or cuDNN): --device cuda will fail" >&2
  fi
done
export LD_LIBRARY_PATH=$ls_bundle_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GST_PLUGIN_SYSTEM_PATH_1_0=$ls_bundle/lib/gstreamer-1.0
export GST_PLUGIN_PATH_1_0=
export GST_PLUGIN_SCANNER_1_0=$ls_bundle/libexec/gst-plugin-scanner
export GST_REGISTRY_1_0=$ls_bundle/registry.bin
export GIO_MODULE_DIR=$ls_bundle/lib/gio-modules   # none: no proxy or settings plugins of the host
export ESPEAK_DATA_PATH=$ls_bundle/share
export LS_FACE_CASCADE=$ls_bundle/share/haarcascade_frontalface_default.xml
unset ls_lib ls_dir ls_bundle_path
