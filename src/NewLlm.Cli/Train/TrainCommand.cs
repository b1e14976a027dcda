namespace NewLlm.Cli;

/// <summary>
/// <c>newllm train</c>: the original's train_hh_rlhf.py command line (HH-RLHF, the default set) and the rest of its
/// progression (Dolly-15k, UltraChat, UltraChat 200k, CodeAlpaca-20k, MATH) or your own JSON Lines; resumes, starts from a checkpoint's weights
/// (<c>--from</c>) and widens a trained model's context (<c>--expand-context</c>). A run: the settings from the command
/// line and the checkpoint it resumes or starts from, the checks made before any data is prepared, the data through the
/// dialogue pipeline (<see cref="DialogueCorpus"/>), and the <see cref="Trainer"/> with the console reporter.
/// </summary>
internal sealed partial class TrainCommand : Command
{
    public TrainCommand()
        : base("train", "Train New-LLM on Anthropic HH-RLHF (the original train_hh_rlhf.py command line), or on another set of the original's progression (Dolly-15k, UltraChat, UltraChat 200k, CodeAlpaca-20k, MATH) or your own JSON Lines, with the original's text, split, vocabulary and defaults per set. Ctrl-C stops after the current step and saves a checkpoint to resume from.")
    {
        Vocabulary.AcceptOnlyFromAmong("checkpoint", "rebuild");
        Expansion.AcceptOnlyFromAmong("original", "replicate");
        TokenizerKind.AcceptOnlyFromAmong("word", "gpt2");
        ModelKind.AcceptOnlyFromAmong(ModelChoice.NewLlm, ModelChoice.Transformer);
        foreach (Option option in (Option[])[
            Dataset, DataDir, Subset, MathLevels, MathTypes, MaxSamples, TextField, MessagesField, From, Vocabulary, ExpandContext, Expansion, FreezeBaseDims,
            NumLayers, ContextDim, MaxSeqLength, Epochs, BatchSize, LearningRate, Device, TokenizerKind, Output, Resume, Overwrite,
            CheckpointEvery, Seed, Threads, Precision, AllowSlowBFloat16, PreferenceAccuracy, ModelKind, NumHeads, MatchParamsOf])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, RunAsync);
    }

    public Option<string> Dataset { get; } = new("--dataset") { Description = $"The set: {string.Join(", ", DialogueDataset.Names)} (a resumed run's comes from its checkpoint).", DefaultValueFactory = _ => "hh-rlhf" };

    public Option<string?> DataDir { get; } = new("--data-dir", "--data_dir") { Description = "A local copy laid out like the set's Hub repository (HH-RLHF: <dir>/<subset>/<split>.jsonl.gz), or a save_to_disk folder; for jsonl a file, or a folder with train.jsonl and test.jsonl (or only training files, split 90/10); for codealpaca the folder or code_alpaca_20k.json; for math also the original release's MATH/ tree (the folder holding MATH/, MATH/ itself, or its .zip). Downloads from the Hub when absent." };

    public Option<string?> Subset { get; } = new("--subset") { Description = "HH-RLHF: helpful (default), harmless, helpful-online, helpful-rejection-sampled or all (the Hub folder names, such as harmless-base, work too)." };

    public Option<string?> MathLevels { get; } = new("--math-levels", "--math_levels") { Description = "math only: train on these levels, for example 1,2 (MATH's Level 1 to Level 5; default all)." };

    public Option<string?> MathTypes { get; } = new("--math-types", "--math_types") { Description = $"math only: train on these types, for example algebra,prealgebra ({string.Join(", ", MathFormat.TypeNames)}; default all)." };

    public Option<int?> MaxSamples { get; } = new("--max_samples", "--max-samples") { Description = "Keep the first N training and N/10 test dialogues (the original's --max_samples)." };

    public Option<string?> TextField { get; } = new("--text-field", "--text_field") { Description = "jsonl only: train on this string field of each row." };

    public Option<string?> MessagesField { get; } = new("--messages-field", "--messages_field") { Description = "jsonl only: train on this list of {role, content} messages (the text shows the roles: User: ... Assistant: ...)." };

    public Option<string?> From { get; } = new("--from") { Description = "Start a new run (the next level of a curriculum, or a wider context) from a checkpoint's weights, on --dataset (default: the checkpoint's set), with a fresh optimizer; its sequence length, batch size, learning rate, seed, tokenizer and precision are the defaults." };

    public Option<string> Vocabulary { get; } = new("--vocabulary") { Description = "With --from: keep the checkpoint's vocabulary (checkpoint) or rebuild it from the new set as the original does at each level (rebuild: the embedding and output layer are trained anew).", DefaultValueFactory = _ => "checkpoint" };

    public Option<int?> ExpandContext { get; } = new("--expand-context", "--expand_context") { Description = "With --from: widen the checkpoint's context vector to this size (for example 512) before training, with a fresh optimizer; the run's name says the new size." };

    public Option<string> Expansion { get; } = new("--expansion") { Description = "How --expand-context fills the new dimensions: original (the original's rule: new weights zero, LayerNorm 1/0; the loss jumps) or replicate (each dimension copied, the function kept exactly; the new size a multiple of the old).", DefaultValueFactory = _ => "original" };

    public Option<bool> FreezeBaseDims { get; } = new("--freeze-base-dims", "--freeze_base_dims") { Description = "With --expand-context: train only the new context dimensions' weights (the original's --freeze_base_dims); embeddings, deeper layers and the output still train." };

    public Option<int> NumLayers { get; } = new("--num_layers", "--num-layers") { Description = "Feed-forward layers (the original trained 1 and 4, and plans 8-12). With --from, more than the checkpoint's adds layers that start as identity maps (the function kept).", DefaultValueFactory = _ => 1 };

    public Option<int> ContextDim { get; } = new("--context_dim", "--context-dim") { Description = "Size of the context vector of a new model (the original's 256; --expand-context widens a trained one).", DefaultValueFactory = _ => 256 };

    public Option<int> MaxSeqLength { get; } = new("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue (truncated or padded).", DefaultValueFactory = _ => 128 };

    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Total epochs (default: the original's for the set, 100, 50 for UltraChat, 200 for CodeAlpaca and MATH; a resumed run trains the remaining ones)." };

    public Option<int> BatchSize { get; } = new("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 2048 };

    public Option<double> LearningRate { get; } = new("--lr", "--learning_rate", "--learning-rate") { Description = "Learning rate.", DefaultValueFactory = _ => 0.0008 };

    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };

    public Option<string> TokenizerKind { get; } = new("--tokenizer") { Description = "word (the original's 1000-word vocabulary) or gpt2.", DefaultValueFactory = _ => "word" };

    public Option<string?> Output { get; } = new("--output") { Description = "Output directory (default: checkpoints; a resumed run's checkpoint folder; with --from, a folder named after the set beside the checkpoint)." };

    public Option<string?> Resume { get; } = new("--resume") { Description = "Continue a run from a checkpoint written by newllm (or the original Python trainer); the run's settings come from it (options given explicitly that differ are refused or applied with a note)." };

    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Start a fresh run even if --output holds an earlier run's checkpoints and reports (they are deleted)." };

    public Option<CheckpointInterval> CheckpointEvery { get; } = new("--checkpoint-every") { Description = "A periodic checkpoint every N epochs (N or Nepochs) or every N optimizer steps (Nsteps, only the newest kept); 0 for none.", DefaultValueFactory = _ => new CheckpointInterval(5, 0), CustomParser = CheckpointInterval.Parse };

    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed (initial weights, dropout, batch order).", DefaultValueFactory = _ => 42 };

    public Option<int> Threads { get; } = new("--threads") { Description = "CPU threads for torch and tokenization (default: one per processor).", DefaultValueFactory = _ => Environment.ProcessorCount };

    public Option<string> Precision { get; } = PrecisionOption.Create();

    public Option<bool> AllowSlowBFloat16 { get; } = new("--allow-slow-bf16") { Description = "Run --precision bf16-mixed even on a CPU without native bfloat16 (avx512_bf16/amx_bf16), where it is many times slower than fp32." };

    public Option<bool> PreferenceAccuracy { get; } = new("--preference-accuracy") { Description = "HH-RLHF: also report the share of test pairs whose chosen reply is more likely than the rejected one." };

    public Option<string> ModelKind { get; } = new("--model") { Description = "The model: new-llm (the default) or transformer, the original's GPT-style attention baseline (--num_layers blocks, embedding 256, FFN 1024, --max_seq_length positions), trained with every other option the same. A resumed run keeps its checkpoint's.", DefaultValueFactory = _ => ModelChoice.NewLlm };

    public Option<int?> NumHeads { get; } = new("--num_heads", "--num-heads") { Description = "--model transformer: attention heads per block (default 4; the embedding width is a multiple of it)." };

    public Option<string?> MatchParamsOf { get; } = new("--match-params-of", "--match_params_of") { Description = "--model transformer: choose the baseline's width so that its parameter count is within 5% of this New-LLM model's, given as key=value pairs (num_layers, context_dim, embed_dim, hidden_dim; the rest New-LLM's defaults and the run's vocabulary), for example \"num_layers=1,context_dim=256\"; prints both counts. Its depth is New-LLM's num_layers unless --num_layers is given." };
}
