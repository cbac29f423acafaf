// `lvk train <model>`: one sub-subcommand per model.
#include "tools/commands.h"

namespace lvk::cli {

void add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train", "Train a model (see `lvk train <model> --help`)");
  train->require_subcommand(1);
  add_train_flow2d(*train);
  add_train_models(*train);
}

}  // namespace lvk::cli
