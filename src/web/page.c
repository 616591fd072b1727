/* web/page.c — the upload page, embedded in the binary (no CDN): /, /app.css, /app.js. The CSP
 * (default-src 'self') forbids inline script and style, so CSS and JS are separate routes. */
#include <string.h>

#include "web/web_int.h"

static const char index_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>facescore</title><link rel=\"icon\" href=\"data:,\">"
    "<link rel=\"stylesheet\" href=\"/app.css\"></head><body>\n"
    "<header><h1>facescore</h1>\n"
    "<button id=\"lang\" type=\"button\" aria-label=\"Language\">한국어</button></header>\n"
    "<main>\n"
    "<p class=\"disclaimer\" id=\"disclaimer\" data-en=\"" FS_SCORE_DISCLAIMER "\" "
    "data-ko=\"점수는 장난입니다: 한 작은 데이터셋(SCUT-FBP5500)의 평가자 60명의 취향을 흉내낼 뿐, 누구의 가치와도 무관하며 "
    "진지하게 받아들이면 안 됩니다.\">" FS_SCORE_DISCLAIMER "</p>\n"
    "<label id=\"drop\" class=\"drop\" tabindex=\"0\"><span data-en=\"Choose or drop a photo\" "
    "data-ko=\"사진을 선택하거나 끌어다 놓으세요\">Choose or drop a photo</span>\n"
    "<input id=\"file\" type=\"file\" accept=\"image/*\" capture=\"user\"></label>\n"
    "<button id=\"send\" type=\"button\" disabled data-en=\"Score it\" data-ko=\"점수 보기\">Score it</button>\n"
    "<p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n"
    "<canvas id=\"canvas\" width=\"0\" height=\"0\" aria-label=\"photo with face boxes\"></canvas>\n"
    "<ol id=\"faces\"></ol>\n"
    "<button id=\"del\" type=\"button\" hidden data-en=\"Delete my result\" data-ko=\"내 결과 삭제\">"
    "Delete my result</button>\n"
    "</main><script src=\"/app.js\"></script></body></html>\n";

static const char app_css[] =
    "*{box-sizing:border-box}body{font:16px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\n"
    "header{display:flex;justify-content:space-between;align-items:center;padding:.5rem 1rem;background:#243;color:#fff}\n"
    "h1{font-size:1.3rem;margin:0}main{max-width:48rem;margin:0 auto;padding:1rem}\n"
    ".disclaimer{font-size:.85rem;color:#555;border-left:3px solid #c80;padding-left:.5rem}\n"
    ".drop{display:block;border:2px dashed #888;border-radius:.5rem;padding:1.5rem;text-align:center;cursor:pointer}\n"
    ".drop.over,.drop:focus{border-color:#243;background:#eef}\n"
    ".drop input{display:block;margin:.5rem auto 0}\n"
    "button{font:inherit;padding:.5rem 1rem;margin:.5rem 0;border-radius:.3rem;border:1px solid #243;background:#fff;"
    "cursor:pointer}button:focus{outline:3px solid #48c}\n"
    "canvas{max-width:100%;height:auto;display:block;margin:.5rem 0}\n"
    "#faces{list-style:none;padding:0}#faces li{margin:.5rem 0;padding:.5rem;background:#fff;border-radius:.3rem}\n"
    ".bars{display:flex;align-items:flex-end;gap:4px;height:48px}.bars div{flex:1;background:#48c;min-height:1px}\n"
    ".bars div.top{background:#c80}.axis{display:flex;gap:4px;font-size:.75rem}.axis span{flex:1;text-align:center}\n";

static const char app_js[] =
    "'use strict';\n"
    "(function(){\n"
    "var lang='en',file=null,result=null,img=null;\n"
    "var $=function(id){return document.getElementById(id);};\n"
    "function t(en,ko){return lang==='ko'?ko:en;}\n"
    "function applyLang(){document.documentElement.lang=lang;\n"
    " document.querySelectorAll('[data-en]').forEach(function(e){e.textContent=e.getAttribute('data-'+lang);});\n"
    " $('lang').textContent=lang==='en'?'한국어':'English';if(result)render();}\n"
    "$('lang').addEventListener('click',function(){lang=lang==='en'?'ko':'en';applyLang();});\n"
    "function pick(f){if(!f)return;file=f;result=null;$('faces').innerHTML='';$('del').hidden=true;\n"
    " var u=URL.createObjectURL(f);img=new Image();img.onload=function(){draw([]);};img.src=u;\n"
    " $('send').disabled=false;$('status').textContent='';}\n"
    "$('file').addEventListener('change',function(e){pick(e.target.files[0]);});\n"
    "var d=$('drop');\n"
    "['dragenter','dragover'].forEach(function(n){d.addEventListener(n,function(e){e.preventDefault();d.classList.add('over');});});\n"
    "['dragleave','drop'].forEach(function(n){d.addEventListener(n,function(e){e.preventDefault();d.classList.remove('over');});});\n"
    "d.addEventListener('drop',function(e){if(e.dataTransfer.files.length)pick(e.dataTransfer.files[0]);});\n"
    "d.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();$('file').click();}});\n"
    "function draw(faces){var c=$('canvas'),x=c.getContext('2d');if(!img)return;\n"
    " c.width=img.naturalWidth;c.height=img.naturalHeight;x.drawImage(img,0,0);\n"
    " var s=Math.max(1,c.width/600);x.lineWidth=2*s;x.font=(14*s)+'px sans-serif';\n"
    " faces.forEach(function(f,i){var b=f.box;x.strokeStyle='#0c0';x.strokeRect(b[0],b[1],b[2],b[3]);\n"
    "  var g=f.gender==='female'?t('F','여'):f.gender==='male'?t('M','남'):'?';\n"
    "  var label=(i+1)+': '+f.score.toFixed(2)+' '+g;var w=x.measureText(label).width+8*s,h=18*s;\n"
    "  var y=b[1]-h<0?b[1]:b[1]-h;x.fillStyle='rgba(0,0,0,.75)';x.fillRect(b[0],y,w,h);\n"
    "  x.fillStyle='#fff';x.fillText(label,b[0]+4*s,y+14*s);});}\n"
    "function render(){var faces=result.faces;draw(faces);var ol=$('faces');ol.innerHTML='';\n"
    " if(!faces.length){$('status').textContent=t('No face found.','얼굴을 찾지 못했습니다.');}\n"
    " else $('status').textContent=t(faces.length+' face(s) scored.','얼굴 '+faces.length+'개');\n"
    " faces.forEach(function(f,i){var li=document.createElement('li');\n"
    "  var g=f.gender==='female'?t('female','여성'):f.gender==='male'?t('male','남성'):t('unknown','알 수 없음');\n"
    "  var h=document.createElement('div');h.textContent=(i+1)+'. '+t('score','점수')+' '+f.score.toFixed(2)+' · '+g+\n"
    "   ' · '+(lang==='ko'?f.rank_ko:f.rank_en);li.appendChild(h);\n"
    "  var bars=document.createElement('div');bars.className='bars';bars.setAttribute('role','img');\n"
    "  bars.setAttribute('aria-label',f.dist.map(function(p,k){return (k+1)+': '+Math.round(p*100)+'%';}).join(', '));\n"
    "  var ax=document.createElement('div');ax.className='axis';\n"
    "  f.dist.forEach(function(p,k){var b=document.createElement('div');b.style.height=Math.max(1,p*100)+'%';\n"
    "   if(k+1===f['class'])b.className='top';bars.appendChild(b);var a=document.createElement('span');\n"
    "   a.textContent=(k+1);ax.appendChild(a);});\n"
    "  li.appendChild(bars);li.appendChild(ax);ol.appendChild(li);});\n"
    " $('del').hidden=false;}\n"
    "$('send').addEventListener('click',function(){if(!file)return;var fd=new FormData();fd.append('image',file);\n"
    " $('send').disabled=true;$('status').textContent=t('Scoring…','점수 계산 중…');\n"
    " fetch('/api/v1/score',{method:'POST',body:fd}).then(function(r){return r.json().then(function(j){return [r,j];});})\n"
    " .then(function(a){$('send').disabled=false;if(!a[0].ok){$('status').textContent=a[1].error?a[1].error.message:'error';return;}\n"
    "  result=a[1];render();}).catch(function(e){$('send').disabled=false;$('status').textContent=String(e);});});\n"
    "$('del').addEventListener('click',function(){if(!result)return;\n"
    " fetch('/api/v1/results/'+result.id,{method:'DELETE'}).then(function(r){\n"
    "  if(r.ok){result=null;$('faces').innerHTML='';$('del').hidden=true;draw([]);\n"
    "   $('status').textContent=t('Your result was deleted.','결과가 삭제되었습니다.');}});});\n"
    "applyLang();\n"
    "})();\n";

static const web_asset assets[] = {
    {"/", "text/html; charset=utf-8", index_html},
    {"/index.html", "text/html; charset=utf-8", index_html},
    {"/app.css", "text/css; charset=utf-8", app_css},
    {"/app.js", "text/javascript; charset=utf-8", app_js},
};

const web_asset *web_find_asset(const char *path) {
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (!strcmp(assets[i].path, path)) return &assets[i];
    return NULL;
}
