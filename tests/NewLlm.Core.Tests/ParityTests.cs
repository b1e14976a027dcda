using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>
/// Parity with the PyTorch reference (shared/reference/newllm_reference.py export): the same initial weights give
/// the same logits (max |diff| &lt;= 1e-4) and the same losses over three Adam steps (relative 1e-4). Dimensions are
/// inferred from the tensor shapes, so any exported fixture can be checked.
/// </summary>
public class ParityTests
{
    [Fact]
    public void BundledSmallFixtureMatchesReference()
    {
        ParityCheck.AssertMatches(TestPaths.BundledFixture("parity-l2-small.safetensors"));
    }

    [SkippableFact]
    public void EveryFixtureInSharedFolderMatchesReference()
    {
        string? folder = TestPaths.SharedFixtures;
        Skip.If(folder is null, "Skipped: ../shared/reference/fixtures is absent (CI always has it).");
        string[] files = Directory.GetFiles(folder!, "*.safetensors");
        Skip.If(files.Length == 0, "Skipped: no fixtures in ../shared/reference/fixtures.");
        foreach (string file in files)
        {
            ParityCheck.AssertMatches(file);
        }
    }
}

/// <summary>The parity check itself, usable on any fixture exported by the reference.</summary>
internal static class ParityCheck
{
    public static void AssertMatches(string path)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = SafetensorsFile.Read(path);
        using NewLlmModel model = NewLlmModel.FromSafetensors(path, dropout: 0.0, allowUnexpected: true);
        model.eval();
        Tensor ids = tensors["test.input_ids"];
        Tensor expectedLogits = tensors["test.logits"];
        float[] expectedLosses = tensors["test.train_losses"].data<float>().ToArray();

        using (torch.no_grad())
        {
            Tensor logits = model.call(ids);
            Assert.Equal(expectedLogits.shape, logits.shape);
            double maxDiff = (logits - expectedLogits).abs().max().item<float>();
            Assert.True(maxDiff <= 1e-4, $"{Path.GetFileName(path)}: max |logits - reference| = {maxDiff:E3} > 1e-4");
        }

        // Three Adam steps (lr 1e-3, dropout off, grad-norm clip 1.0), next-token loss with PAD 0 ignored.
        var optimizer = torch.optim.Adam(model.parameters(), lr: 1e-3);
        Tensor inputs = ids[.., ..^1];
        Tensor targets = ids[.., 1..].reshape(-1);
        for (int step = 0; step < expectedLosses.Length; step++)
        {
            optimizer.zero_grad();
            Tensor loss = F.cross_entropy(model.call(inputs).reshape(-1, model.Options.VocabSize), targets, ignore_index: 0);
            double actual = loss.item<float>();
            double relative = Math.Abs(actual - expectedLosses[step]) / Math.Abs(expectedLosses[step]);
            Assert.True(relative <= 1e-4, $"{Path.GetFileName(path)}: loss before step {step + 1} is {actual:R}, reference {expectedLosses[step]:R} (relative {relative:E2})");
            loss.backward();
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
