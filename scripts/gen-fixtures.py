#!/usr/bin/env python3
"""Generate the committed test fixtures: tiny Jina-CLIP-shaped models, sample PDFs and images.

Run with the project venv (scripts/setup-python.sh creates it):
    .venv/bin/python scripts/gen-fixtures.py

Everything is seeded, so a re-run rewrites identical files. The tiny models have the file layout
of jinaai/jina-clip-v1 (config.json, tokenizer.json, tokenizer_config.json,
preprocessor_config.json, onnx/text_model.onnx, onnx/vision_model.onnx) so that ragsync loads them
through the same transformers.js code path as the real model. Their vectors are a bag of word
embeddings: similar wording gives similar vectors, nothing more.
"""
import datetime
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "test", "fixtures")
CORPUS = os.path.join(ROOT, "examples", "corpus")

COMMON = """the of and to a in is it you that he was for on are with as his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made
live where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
head stand own page should country found answer school grow study still learn plant cover food sun
four between state keep eye never last let thought city tree cross farm hard start might story saw
far sea draw left late run while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter
until mile river car feet care second book carry took science eat room friend began idea fish
mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual
young ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure door product black short numeral class wind question happen complete ship area half rock
order fire south problem piece told knew pass since top whole king space heard best hour better
true during hundred five remember step early hold west ground interest reach fast verb sing listen
six table travel less morning ten simple several vowel toward war lay against pattern slow center
love person money serve appear road map rain rule govern pull cold notice voice unit power town
fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct
able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing
course stay wheel full force blue object decide surface deep moon island foot system busy test
record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape
equate miss brought heat snow tire bring yes distant fill east paint language among grand ball yet
wave drop heart am present heavy dance engine position arm wide sail material size vary settle
speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden count
square reason length represent art subject region energy hunt probable bed brother egg ride cell
believe fraction forest sit race window store summer train sleep prove lone leg exercise wall catch
mount wish sky board joy winter sat written wild instrument kept glass grass cow job edge sign
visit past soft fun bright gas weather month million bear finish happy hope flower clothe strange
gone jump baby eight village meet root buy raise solve metal whether push seven paragraph third
shall held hair describe cook floor either result burn hill safe cat century consider type law bit
coast copy phrase silent tall sand soil roll temperature finger industry value fight lie beat
excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring
observe child straight consonant nation dictionary milk speed method organ pay age section dress
cloud surprise quiet stone tiny climb cool design poor lot experiment bottom key iron single stick
flat twenty skin smile crease hole trade melody trip office receive row mouth exact symbol die least
trouble shout except wrote seed tone join suggest clean break lady yard rise bad blow oil blood
touch grew cent mix team wire cost lost brown wear garden equal sent choose fell fit flow fair bank
collect save control decimal gentle woman captain practice separate difficult doctor please protect
noon whose locate ring character insect caught period indicate radio spoke atom human history
effect electric expect crop modern element hit student corner party supply bone rail imagine
provide agree thus capital chair danger fruit rich thick soldier process operate guess necessary
sharp wing create neighbor wash bat rather crowd corn compare poem string bell depend meat rub tube
famous dollar stream fear sight thin triangle planet hurry chief colony clock mine tie enter major
fresh search send yellow gun allow print dead spot desert suit current lift rose continue block
chart hat sell success company subtract event particular deal swim term opposite wife shoe
shoulder spread arrange camp invent cotton born determine quart nine truck noise level chance
gather shop stretch throw shine property column molecule select wrong gray repeat require broad
prepare salt nose plural anger claim continent oxygen sugar death pretty skill women season
solution magnet silver thank branch match suffix especially fig afraid huge sister steel discuss
forward similar guide experience score apple bought led pitch coat mass card band rope slip win
dream evening condition feed tool total basic smell valley nor double seat arrive master track
parent shore division sheet substance favor connect post spend chord fat glad original share
station dad bread charge proper bar offer segment slave duck instant market degree populate chick
dear enemy reply drink occur support speech nature range steam motion path liquid log meant
quotient teeth shell neck database server file files index search vector query document chunk
heading code table image photo model embedding network cluster pod service ingress policy traffic
disk memory snapshot backup restore release sprint meeting flag billing migration rollout panel
panels roof inverter battery kilowatt kilowatts peak yield europe coffee espresso grind grinder
bean beans brew shot pressure milk steam latte crema roast""".split()


def words_from_corpus():
    found = []
    for base, _, files in os.walk(CORPUS):
        for name in sorted(files):
            if name.endswith((".md", ".txt")):
                with open(os.path.join(base, name), encoding="utf-8") as fh:
                    found += re.findall(r"[a-z]+", fh.read().lower())
    return found


def build_vocab():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
    punct = list(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`°")
    pieces = ["##" + c for c in chars]
    words = []
    seen = set(specials + chars + punct + pieces)
    for w in COMMON + words_from_corpus():
        if w not in seen:
            seen.add(w)
            words.append(w)
    return specials + chars + punct + pieces + words


def tokenizer_json(vocab):
    ids = {tok: i for i, tok in enumerate(vocab)}
    special = lambda t: {"id": ids[t], "content": t, "single_word": False, "lstrip": False,
                         "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in vocab[:5]],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def save(model, path):
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


STOPWORDS = set("""a an the of and or to in on at by for with from as is are was were be been it its this that
these those there here we you he she they i me my our your his her their them us do does did has have had not
no so if then than but all any each some such can could will would should may might must into over under
about after before up down out off again also just only very more most other same too what which who whom
how when where why""".split())


def token_weights(vocab):
    """Per-token scale of the embedding table: a weighted bag of words, so shared rare words count."""
    weights = np.ones(len(vocab), dtype=np.float32)
    for i, tok in enumerate(vocab):
        if tok.startswith("[") and tok.endswith("]"):
            weights[i] = 0.0 if tok in ("[PAD]", "[CLS]", "[SEP]") else 0.2
        elif tok in STOPWORDS:
            weights[i] = 0.05
        elif len(tok) == 1 or tok.startswith("##"):
            weights[i] = 0.15
    return weights


def text_model(vocab, dim, seed):
    """Feature hashing inside the graph: token id -> two signed one-hot slots of `dim`, scaled by
    the token's weight, mean over the sequence. Near-orthogonal word vectors with no big table."""
    a, b = 7919 + 2 * seed, 104729 + 6 * seed
    consts = [
        numpy_helper.from_array(token_weights(vocab), "token_weights"),
        numpy_helper.from_array(np.array(a, dtype=np.int64), "mul_a"),
        numpy_helper.from_array(np.array(b, dtype=np.int64), "mul_b"),
        numpy_helper.from_array(np.array(13, dtype=np.int64), "shift"),
        numpy_helper.from_array(np.array(dim, dtype=np.int64), "depth"),
        numpy_helper.from_array(np.array([0.0, 1.0], dtype=np.float32), "plus"),
        numpy_helper.from_array(np.array([0.0, -1.0], dtype=np.float32), "minus"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
    ]
    nodes = [
        helper.make_node("Gather", ["token_weights", "input_ids"], ["weights"]),
        helper.make_node("Unsqueeze", ["weights", "last_axis"], ["weights3"]),
        helper.make_node("Mul", ["input_ids", "mul_a"], ["ha"]),
        helper.make_node("Mod", ["ha", "depth"], ["slot_a"]),
        helper.make_node("Mul", ["input_ids", "mul_b"], ["hb0"]),
        helper.make_node("Add", ["hb0", "shift"], ["hb"]),
        helper.make_node("Mod", ["hb", "depth"], ["slot_b"]),
        helper.make_node("OneHot", ["slot_a", "depth", "plus"], ["one_a"], axis=-1),
        helper.make_node("OneHot", ["slot_b", "depth", "minus"], ["one_b"], axis=-1),
        helper.make_node("Add", ["one_a", "one_b"], ["features"]),
        helper.make_node("Mul", ["features", "weights3"], ["token_embeddings"]),
        helper.make_node("ReduceMean", ["token_embeddings"], ["text_embeddings"], axes=[1], keepdims=0),
        helper.make_node("LpNormalization", ["text_embeddings"], ["l2norm_text_embeddings"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "tiny_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("text_embeddings", TensorProto.FLOAT, ["batch", dim]),
         helper.make_tensor_value_info("l2norm_text_embeddings", TensorProto.FLOAT, ["batch", dim])],
        consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def vision_model(image_size, grid, dim, rng):
    cell = image_size // grid
    proj = numpy_helper.from_array(rng.standard_normal((3 * grid * grid, dim)).astype(np.float32), "projection")
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[cell, cell], strides=[cell, cell]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "projection"], ["image_embeddings"]),
        helper.make_node("LpNormalization", ["image_embeddings"], ["l2norm_image_embeddings"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "tiny_vision",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, image_size, image_size])],
        [helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, ["batch", dim]),
         helper.make_tensor_value_info("l2norm_image_embeddings", TensorProto.FLOAT, ["batch", dim])],
        [proj])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def tiny_clip(out, name, dim, seed, image_size=32, grid=4):
    rng = np.random.default_rng(seed)
    vocab = build_vocab()
    write_json(os.path.join(out, "config.json"), {
        "_name_or_path": name,
        "architectures": ["JinaCLIPModel"],
        "model_type": "jina_clip",
        "projection_dim": dim,
        "text_config": {"hidden_size": dim, "vocab_size": len(vocab), "max_position_embeddings": 8192},
        "vision_config": {"image_size": image_size, "patch_size": image_size // grid},
    })
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 8192,
        "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
        "mask_token": "[MASK]", "clean_up_tokenization_spaces": True})
    write_json(os.path.join(out, "preprocessor_config.json"), {
        "image_processor_type": "JinaCLIPImageProcessor", "processor_class": "JinaCLIPProcessor",
        "fill_color": 0, "interpolation": "bicubic", "resize_mode": "shortest", "size": image_size,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]})
    save(text_model(vocab, dim, seed), os.path.join(out, "onnx", "text_model.onnx"))
    save(vision_model(image_size, grid, dim, rng), os.path.join(out, "onnx", "vision_model.onnx"))


def pdf(path, pages, encrypt=False):
    from fpdf import FPDF
    doc = FPDF()
    doc.set_creation_date(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    doc.set_font("helvetica", size=12)
    for text in pages:
        doc.add_page()
        doc.multi_cell(0, 8, text)
    if encrypt:
        doc.set_encryption(owner_password="owner-secret", user_password="user-secret")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    doc.output(path)


def image(path, color, fmt, size=(64, 48)):
    from PIL import Image
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)


def main():
    tiny_clip(os.path.join(FIX, "tiny-clip"), "ragsync/tiny-clip-test", dim=256, seed=1)
    tiny_clip(os.path.join(FIX, "tiny-clip-b"), "ragsync/tiny-clip-test-b", dim=128, seed=2)
    espresso = [
        "Espresso at home. Grind the coffee beans fine, dose eighteen grams into the basket and tamp "
        "evenly. A shot should take twenty five to thirty seconds at nine bar of pressure.",
        "Milk steaming. Purge the steam wand, keep the tip just below the surface of cold milk and "
        "stretch it until the jug feels warm, then roll the milk to a glossy texture for a latte.",
    ]
    pdf(os.path.join(CORPUS, "espresso-guide.pdf"), espresso)
    image(os.path.join(CORPUS, "images", "red-square.png"), (220, 30, 30), "PNG")
    fx = os.path.join(FIX, "files")
    pdf(os.path.join(fx, "two-pages.pdf"), ["First page about apples and orchards.",
                                              "Second page about rivers and boats."])
    pdf(os.path.join(fx, "encrypted.pdf"), ["This text is locked behind a password."], encrypt=True)
    with open(os.path.join(fx, "two-pages.pdf"), "rb") as fh:
        good = fh.read()
    with open(os.path.join(fx, "corrupt.pdf"), "wb") as fh:
        fh.write(good[: len(good) // 3])  # a PDF cut off a third of the way in
    image(os.path.join(fx, "blue.png"), (20, 40, 230), "PNG")
    image(os.path.join(fx, "green.jpg"), (30, 200, 40), "JPEG")
    image(os.path.join(fx, "yellow.webp"), (240, 230, 20), "WEBP")
    print("fixtures written under", FIX, "and", CORPUS)


if __name__ == "__main__":
    sys.exit(main())
