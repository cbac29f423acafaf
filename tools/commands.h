#pragma once
// Each subcommand registers itself on the app; main() only parses and reports errors.
#include <CLI/CLI.hpp>
#include <string>

namespace lvk::cli {

void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);   // `lvk train <model>`
void add_train_flow2d(CLI::App& train);  // `lvk train flow2d`
void add_train_models(CLI::App& train);  // `lvk train vae|flowvae|...` (models/model_factory.h)
void add_data_command(CLI::App& app);
void add_quantize_commands(CLI::App& app);       // quantize, kmeans
void add_bench_quantize_command(CLI::App& app);  // bench quantize
void add_eval_command(CLI::App& app);            // eval (models/eval.h)
void add_picture_commands(CLI::App& app);        // sample, reconstruct
void add_verify_command(CLI::App& app);          // verify (checkpoint integrity)

// "lvk: note: <text>" on stderr; nothing when `text` is empty.
void print_note(const std::string& text);

}  // namespace lvk::cli
