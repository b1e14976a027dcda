namespace NewLlm.Cli.Tests;

/// <summary><c>newllm evaluate</c> on a checkpoint of a set other than HH-RLHF: the tool runs as a child process on small files written here.</summary>
[Trait("Category", "Slow")]
public sealed class EvaluateTests
{
    [Fact]
    public async Task ACheckpointOfAnotherSetIsRefusedUpFrontUnlessAnHhRlhfFolderIsGiven()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path, rows: 60);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", dolly, "--epochs", "1", "--batch_size", "32", "--max_seq_length", "16", "--output", output);
        Assert.True(code == 0, text);
        string final = Path.Combine(output, "new_llm_dolly_layers1_final.pt");

        // The checkpoint's data_dir is Dolly's folder, which evaluate (HH-RLHF) cannot read: refused, naming what to pass.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", final);
        Assert.Equal(1, code);
        Assert.Contains($"error: evaluate reads HH-RLHF; {final} was trained on Dolly-15k: pass --data-dir <an HH-RLHF folder>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("harmless-base", text, StringComparison.Ordinal);

        // With an HH-RLHF folder it measures the checkpoint there, with the checkpoint's own vocabulary.
        string hh = TinyHhRlhfFolder.Create(temp.Path, trainRows: 40, testRows: 8);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", final, "--data-dir", hh, "--subset", "harmless", "--batch_size", "8");
        Assert.True(code == 0, text);
        Assert.Contains("  Loss=", text, StringComparison.Ordinal);
    }
}
