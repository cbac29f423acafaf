# The layers base <- kernels <- runtime <- models <- tools. Each layer's target sees the headers of
# its own folder and of the layers it links, nothing above: its include root is a folder in the
# build tree that holds one link named after the layer (root/kernels -> <source>/kernels), so
# `#include "runtime/tensor.h"` in kernels/ fails to compile. The repository root is on the include
# path of the top layer (tools, tests, benchmarks) only.
function(lvk_layer_include_root target layer)
  set(root ${PROJECT_BINARY_DIR}/layer_roots/${layer})
  file(MAKE_DIRECTORY ${root})
  if(NOT EXISTS ${root}/${layer})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${layer} ${root}/${layer} SYMBOLIC)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()
