using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary><c>newllm train --from CKPT --num_layers N</c>: a deeper model grown from a checkpoint (with a wider context too), validated as before, resumed, and fewer layers refused.</summary>
[Trait("Category", "Slow")]
public sealed class TrainGrowthTests
{
    [Fact]
    public async Task MoreLayersGrowTheCheckpointsModelWithTheSameValidationPerplexityAndTheRunResumes()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = NewLlm.Tests.TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--max_samples", "120", "--epochs", "1", "--batch_size", "32", "--max_seq_length", "24", "--output", output);
        Assert.True(code == 0, text);
        string final = Path.Combine(output, "new_llm_hh_rlhf_layers1_final.pt");

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--from", final, "--num_layers", "2", "--expand-context", "512", "--expansion", "replicate", "--epochs", "1");
        Assert.True(code == 0, text);
        string Perplexity(string start) => text.Split('\n').Single(l => l.StartsWith(start, StringComparison.Ordinal)).Trim().Split(' ')[^1];
        string beforeGrowth = Perplexity("Validation before growth (1 layer(s)): PPL ");
        Assert.Equal(beforeGrowth, Perplexity("Validation after growth to 2 layers (the new ones identity maps): PPL "));
        Assert.Equal(Perplexity("Validation before expansion (context 256): PPL "), beforeGrowth); // replication kept it too
        string grown = Path.Combine(output, "hh-rlhf", "new_llm_hh_rlhf_layers2_context512_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(grown);
        Assert.Equal((2, 512), (manifest.ModelOptions!.NumLayers, manifest.ModelOptions!.ContextDim));
        Assert.Equal(1, (int?)manifest.TrainerOptions["grown_from_layers"]);
        Assert.Equal(256, (int?)manifest.TrainerOptions["expanded_from_context"]);

        // The grown run resumes with the shortest command (its checkpoint already has 2 layers) and keeps its record.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", grown, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.DoesNotContain("Validation before growth", text, StringComparison.Ordinal);
        manifest = CheckpointFile.ReadManifest(grown);
        Assert.Equal(2, manifest.State.CompletedEpochs);
        Assert.Equal(1, (int?)manifest.TrainerOptions["grown_from_layers"]);

        // Layers are added, never removed; a resumed run keeps its model's.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--from", grown, "--num_layers", "1", "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Equal($"error: --num_layers 1: the model in {grown} has 2 layers; --from can add layers (they start as identity maps) but not remove them. Give --num_layers 2 or more, or leave it out.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", grown, "--num_layers", "3", "--epochs", "3");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --num_layers 3 differs from the checkpoint's 2: the checkpoint's model has that many layers (a new run --from it with more adds layers).", text.Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(output, "hh-rlhf", "hh-rlhf")), "a refused run leaves no folder");
    }
}
