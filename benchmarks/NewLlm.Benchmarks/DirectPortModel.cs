using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Benchmarks;

/// <summary>
/// The direct port of the original per-position loop over time-major <c>unbind(0)</c> slices: no hoisting, no
/// fusion, plain autograd. Runs over the parameters of a <see cref="NewLlmModel"/> (for comparison only).
/// </summary>
internal sealed class DirectPortModel
{
    private readonly NewLlmModel model;
    private readonly Dictionary<string, Tensor> p;

    public DirectPortModel(NewLlmModel model)
    {
        this.model = model;
        p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
    }

    public Tensor Forward(Tensor ids)
    {
        int layers = model.Options.NumLayers;
        bool training = model.training;
        double dropout = model.Options.Dropout;
        Tensor emb = p["token_embedding.weight"].index_select(0, ids.t().reshape(-1)).reshape(ids.shape[1], ids.shape[0], -1);   // [T, B, E]
        Tensor ctx = zeros(ids.shape[0], model.Options.ContextDim);
        var logits = new List<Tensor>();
        foreach (Tensor e in emb.unbind(0))
        {
            Tensor h = cat(new[] { e, ctx }, -1);
            for (int i = 0; i < layers; i++)
            {
                h = F.dropout(F.relu(F.linear(h, p[$"fnn_layers.{3 * i}.weight"], p[$"fnn_layers.{3 * i}.bias"])), dropout, training);
            }

            logits.Add(F.linear(h, p["token_output.weight"], p["token_output.bias"]));
            Tensor cand = F.linear(h, p["context_update.weight"], p["context_update.bias"]);
            Tensor f = sigmoid(F.linear(h, p["forget_gate.weight"], p["forget_gate.bias"]));
            Tensor g = sigmoid(F.linear(h, p["input_gate.weight"], p["input_gate.bias"]));
            ctx = clamp(F.layer_norm(f * ctx + g * cand, new long[] { model.Options.ContextDim }, p["context_norm.weight"], p["context_norm.bias"]), -10.0, 10.0);
        }

        return stack(logits, 1);
    }
}
