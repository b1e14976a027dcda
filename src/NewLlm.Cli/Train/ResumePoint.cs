using NewLlm;

namespace NewLlm.Cli;

/// <summary>
/// What a resumed run starts from: the settings recorded, the model's sizes, how far it had trained, and the vocabulary
/// it holds (none in the original trainer's checkpoints).
/// </summary>
internal sealed record ResumePoint(JsonObject Settings, NewLlmOptions Model, int CompletedEpochs, int BatchesIntoEpoch, long GlobalStep, bool IsOriginal, DialogueTokenizer? Tokenizer = null)
{
    /// <summary>
    /// Reads where a run resumed from <paramref name="path"/> starts, from newllm's checkpoints or the original
    /// Python trainer's (which record only max_seq_length and num_layers, and no vocabulary); the errors a person typing
    /// the option makes are said in the program's words. The checkpoint is read as a run will read it (every entry's
    /// hash, the PyTorch part, the weights into a model of its shape, the vocabulary), so that one the run would refuse
    /// is refused here, before anything is written under <c>--output</c>.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="optionName">The option that named it (<c>--resume</c>, <c>--from</c>).</param>
    public static ResumePoint Read(string path, string optionName = "--resume")
    {
        if (Directory.Exists(path))
        {
            string[] checkpoints = [.. Directory.EnumerateFiles(path, "*.pt").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
            throw new ArgumentException($"{optionName} {path} is a folder; give a checkpoint file in it" + (checkpoints.Length == 0
                ? " (it holds none)."
                : $", for example {RunDirectory.FindLatestCheckpoint(path) ?? Path.Combine(path, checkpoints[0])}, the one that has trained furthest (it holds {string.Join(", ", checkpoints)})."));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{optionName} {path}: there is no such file.");
        }

        if (CheckpointFile.IsOriginalCheckpoint(path))
        {
            using PyTorchCheckpoint original = PyTorchCheckpoint.Read(path);
            if (optionName == "--resume" && (original.IsStateDictOnly || original.Optimizer is null))
            {
                throw new InvalidDataException(
                    $"{path}: the file holds model weights only ({(original.IsStateDictOnly ? "a state dict" : "no 'optimizer_state_dict'")}), so there is no run to resume. Give the original trainer's checkpoint or one NewLlm wrote.");
            }

            using NewLlmModel probe = NewLlmModel.FromPyTorch(path);
            JsonObject settings = OriginalCheckpoints.Settings(original, path);
            if (original.Optimizer is { ParamGroups.Count: > 0 } adam)
            {
                settings["learning_rate"] = adam.ParamGroups[0].LearningRate;
            }

            int epochsDone = original.CompletedEpochs; // the original stores the index of the epoch it finished, not a count
            return new ResumePoint(settings, probe.Options, epochsDone, 0, 0, IsOriginal: true);
        }

        CheckpointManifest manifest = CheckpointFile.ReadManifest(path);
        CheckpointFile.LoadModel(path).Dispose(); // the PyTorch part reads and every weight fits the recorded shape
        DialogueTokenizer? tokenizer = CheckpointFile.LoadTokenizer(path);
        return new ResumePoint(manifest.TrainerOptions, manifest.ModelOptions, manifest.State.CompletedEpochs, manifest.State.BatchesIntoEpoch, manifest.State.GlobalStep, IsOriginal: false, tokenizer);
    }
}
